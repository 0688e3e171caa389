using Microsoft.OpenApi;

namespace Agents.Micro.TaskApi.Endpoints;

public sealed record StuckTask(string TaskId, string ClientTaskId, string UserId, string ConversationId, string Status, string Reason, double Since);

public sealed record StuckTasksResponse(bool Success, IReadOnlyList<StuckTask> Items);

public sealed record AdminActionResponse(bool Success, string TaskId, string Status);

/// <summary>The body of an admin action: why (it goes into the task's log, with who did it).</summary>
public sealed record AdminActionRequest(
    [property: System.ComponentModel.DataAnnotations.Required, System.ComponentModel.DataAnnotations.StringLength(500),
               System.ComponentModel.Description("why: recorded in the task's log as admin_action")] string? Reason);

/// <summary>
/// An operator's repairs (admin tokens only, under <c>/system/tasks</c>): list tasks that look stuck, send one to the
/// workers again, or end one with a reason. Tasks are named by their internal id (the list gives it); every action is
/// recorded in the task's own event log as <c>admin_action</c> (who, what, why).
/// </summary>
public static class AdminEndpoints
{
    /// <summary>A lease expired this long ago, or a task sent this long ago and never claimed, is past what the sweep repairs by itself.</summary>
    public const double StuckAfterSeconds = 60;

    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/system/tasks").RequireAuthorization(SecurityExtensions.AdminPolicy).WithTags("system");
        admin.MapGet("/stuck", Stuck).WithName("AdminStuckTasks")
            .WithSummary("tasks that look stuck: a dead worker's lease not taken over, never claimed, or waiting for a human for days (admin)")
            .WithQueryParameter(InterruptedDays).ProducesErrors(400, 401, 403);
        admin.MapPost("/{task_id}/redispatch", Redispatch).WithName("AdminRedispatchTask")
            .WithSummary("send a task no worker holds to the workers again, with a reason (admin)").Accepts<AdminActionRequest>("application/json")
            .ProducesErrors(400, 401, 403, 404, 409, 415);
        admin.MapPost("/{task_id}/end", End).WithName("AdminEndTask")
            .WithSummary("end a task that has not ended (task_failed), with a reason (admin)").Accepts<AdminActionRequest>("application/json")
            .ProducesErrors(400, 401, 403, 404, 409, 415);
        return app;
    }

    public static readonly IntegerQuery InterruptedDays = new("interrupted_days", "list tasks interrupted for at least this many days", 7, 0, 3650);

    public static async Task<Results<Ok<StuckTasksResponse>, JsonHttpResult<ErrorBody>>> Stuck(HttpContext ctx, ITaskStore store, CancellationToken ct)
    {
        if (InterruptedDays.Read(ctx, out int days) is { } bad) return ApiError.BadRequest(bad);
        var now = UnixTime.Now();
        var tasks = await store.FindStuckAsync(now - StuckAfterSeconds, now - StuckAfterSeconds, now - days * 86400.0, 500, ct);
        return TypedResults.Ok(new StuckTasksResponse(true, tasks.Select(t => new StuckTask(t.Id, t.PublicId, t.UserId, t.ConversationId, t.Status,
            t.Status == TaskStatus.Interrupted ? "waiting for a human decision"
            : t.LeaseOwner is not null ? $"the lease of worker {t.LeaseOwner} expired and nobody took it over"
            : "sent but never claimed by a worker",
            t.Status == TaskStatus.Interrupted ? t.UpdatedAt : t.LeaseExpiresAt ?? t.CreatedAt)).ToList()));
    }

    public static async Task<Results<Ok<AdminActionResponse>, JsonHttpResult<ErrorBody>>> Redispatch(
        string task_id, HttpContext ctx, ITaskStore store, TaskDispatcher dispatcher, CancellationToken ct)
    {
        var (reason, bad) = await ReasonAsync(ctx);
        if (bad is not null) return bad;
        var task = await store.GetTaskAsync(task_id, ct);
        if (task is null) return ApiError.NotFound($"task '{task_id}' not found");
        if (!await store.AdminRequeueAsync(task.Id, Audit("redispatch", ctx, reason!), UnixTime.Now(), ct))
            return ApiError.Conflict($"task '{task_id}' is {task.Status}{(task.Status == TaskStatus.Running ? " and held by a live worker" : "")}: only a running task no worker holds can be re-dispatched");
        await dispatcher.DispatchAsync(task, "admin", ct);
        _ = dispatcher.PublishEventsAppendedAsync(task.Id, task.NextIdx + 1, false, CancellationToken.None);
        return TypedResults.Ok(new AdminActionResponse(true, task.Id, TaskStatus.Running));
    }

    public static async Task<Results<Ok<AdminActionResponse>, JsonHttpResult<ErrorBody>>> End(
        string task_id, HttpContext ctx, ITaskStore store, TaskDispatcher dispatcher, CancellationToken ct)
    {
        var (reason, bad) = await ReasonAsync(ctx);
        if (bad is not null) return bad;
        var task = await store.GetTaskAsync(task_id, ct);
        if (task is null) return ApiError.NotFound($"task '{task_id}' not found");
        var error = $"ended by an operator ({ctx.Caller().UserId}): {reason}";
        if (!await store.AdminEndAsync(task.Id, Audit("end", ctx, reason!), error, UnixTime.Now(), ct))
            return ApiError.Conflict($"task '{task_id}' already ended ({task.Status})");
        // A worker still running it stops at once (its writes are fenced off anyway); readers see the end.
        await dispatcher.PublishCancelAsync(task.Id, "ended by an operator", ct);
        _ = dispatcher.PublishEventsAppendedAsync(task.Id, task.NextIdx + 2, true, CancellationToken.None);
        dispatcher.DispatchStartedInBackground(task.UserId, task.ConversationId);
        return TypedResults.Ok(new AdminActionResponse(true, task.Id, TaskStatus.Error));
    }

    /// <summary>The request's required <c>reason</c>, or the error to answer with.</summary>
    private static async Task<(string? Reason, JsonHttpResult<ErrorBody>? Error)> ReasonAsync(HttpContext ctx)
    {
        var (body, invalid) = await StrictJson.ReadAsync<AdminActionRequest>(ctx.Request);
        return body is null ? (null, invalid) : (body.Reason, null);
    }

    private static string Audit(string action, HttpContext ctx, string reason) => JsonSerializer.Serialize(new Dictionary<string, string>
    {
        ["action"] = action,
        ["by"] = ctx.Caller().UserId,
        ["reason"] = reason,
    });
}
