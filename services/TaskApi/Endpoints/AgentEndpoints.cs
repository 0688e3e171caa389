using Agents.Micro.Storage.Webhooks;
using Agents.Micro.TaskApi.Webhooks;

namespace Agents.Micro.TaskApi.Endpoints;

/// <summary>
/// The agent-service API (spec/agent-service-api.md) over the same data as v1: a session is a v1 conversation and a
/// task is the same row in both APIs. Creating, resuming and cancelling go through the same
/// <see cref="TaskSubmitter"/>, <see cref="TaskResumer"/> and <see cref="TaskCanceller"/> as v1.
/// </summary>
public static class AgentEndpoints
{

    /// <summary>Statuses only the agent API reports: no such task, and a session that has no task yet.</summary>
    public const string NotFound = "not_found";
    public const string Idle = "idle";


    public static IEndpointRouteBuilder MapAgentEndpoints(this IEndpointRouteBuilder app)
    {
        var agent = app.MapGroup("/agent").RequireAuthorization().WithTags("agent");
        agent.MapPost("/invoke", Invoke).WithName("AgentInvoke")
            .WithSummary("start an agent run asynchronously").WithDescription("提交异步运行智能体并返回任务ID")
            .Accepts<AgentRequest>("application/json").ProducesErrors(400, 401, 403, 404, 409, 415, 429);
        agent.MapPost("/resume", Resume).WithName("AgentResume")
            .WithSummary("resume an interrupted run asynchronously").WithDescription("提交异步恢复被中断的智能体运行返回任务ID")
            .Accepts<InterruptResponse>("application/json").ProducesErrors(400, 401, 403, 404, 409, 415);
        agent.MapGet("/active/sessionid/{user_id}", ActiveSession).WithName("AgentActiveSession")
            .WithSummary("the user's most recently modified session").WithDescription("获取指定用户ID的最近一次修改的会话ID").ProducesErrors(400, 401, 403, 404);
        agent.MapGet("/sessionids/{user_id}", SessionIds).WithName("AgentSessionIds")
            .WithSummary("all of a user's sessions").WithDescription("获取指定用户ID的所有session_id").ProducesErrors(400, 401, 403);
        agent.MapGet("/tasks/{user_id}/{session_id}", Tasks).WithName("AgentTasks")
            .WithSummary("ids and statuses of a session's tasks").WithDescription("获取指定用户ID和会话ID下所有任务的ID和状态值").ProducesErrors(400, 401, 403, 404);
        agent.MapGet("/status/{user_id}/{session_id}/{task_id}", Status).WithName("AgentStatus")
            .WithSummary("status of one task; unknown ids answer 200 with status not_found").WithDescription("获取指定用户当前会话和任务ID的对应的状态数据")
            .ProducesErrors(400, 401, 403);
        agent.MapDelete("/session/{user_id}/{session_id}", DeleteSession).WithName("AgentDeleteSession")
            .WithSummary("cancel its running task, then delete the session, its tasks, events, checkpoints and history").WithDescription("删除指定用户指定会话")
            .ProducesErrors(400, 401, 403, 404);
        agent.MapDelete("/session/{user_id}/{session_id}/{task_id}", DeleteTask).WithName("AgentDeleteTask")
            .WithSummary("cancel it if running, then delete it, its events, checkpoint and history").WithDescription("删除指定用户指定会话的指定任务")
            .ProducesErrors(400, 401, 403, 404);

        app.MapGet("/system/info", SystemInfo).RequireAuthorization(SecurityExtensions.AdminPolicy).WithTags("system")
            .WithName("SystemInfo").WithSummary("all sessions across the system (admin tokens only)").WithDescription("获取当前系统内全部的会话状态信息").ProducesErrors(401, 403);
        return app;
    }

    /// <summary>POST /agent/invoke — 200 with the ids at once; the run goes on in a worker.</summary>
    public static async Task<Results<Ok<AgentTaskIds>, JsonHttpResult<ErrorBody>>> Invoke(
        HttpContext ctx, TaskSubmitter submitter, WebhookStore webhooks, CancellationToken ct)
    {
        var (body, invalid) = await StrictJson.ReadAsync<AgentRequest>(ctx.Request);
        if (body is null) return invalid!;
        if (CheckIds(("user_id", body.UserId), ("session_id", body.SessionId), ("task_id", body.TaskId)) is { } idError) return ApiError.BadRequest(idError);
        if (AgentAccess.ActAs(ctx.Caller(), body.UserId!) is not { } actor) return ApiError.Forbidden(AgentAccess.Forbidden(body.UserId!));
        var (webhookId, webhookError) = await WebhookEndpoints.ResolveAsync(webhooks, actor.UserId, body.WebhookUrl, ct);
        if (webhookError is not null) return ApiError.BadRequest(webhookError);

        var options = new TaskOptions
        {
            Message = body.Query!,
            SystemMessage = body.SystemMessage ?? TaskOptions.DefaultSystemMessage,
            ModelKey = body.ModelKey,
            RunMode = body.RunMode,
            ThinkingMode = body.ThinkingMode,
            MaxIterations = body.MaxIterations,
            WebhookId = webhookId,
            IfBusy = body.IfBusy,
            Api = "agent",
        };
        var r = await submitter.SubmitAsync(new SubmitRequest(actor, body.SessionId, true, body.TaskId, options), ct);
        if (r.Task is not { } t) return r.Refusal(ctx.Response);
        TaskApiTelemetry.AddTraceIdHeader(ctx.Response);
        return TypedResults.Ok(new AgentTaskIds(t.UserId, t.ConversationId, t.PublicId));
    }

    /// <summary>POST /agent/resume — one decision per interrupt: concurrent resumes of one interrupt, one wins, the rest 409.</summary>
    public static async Task<Results<Ok<AgentTaskIds>, JsonHttpResult<ErrorBody>>> Resume(
        HttpContext ctx, TaskResumer resumer, CancellationToken ct)
    {
        var (body, invalid) = await StrictJson.ReadAsync<InterruptResponse>(ctx.Request);
        if (body is null) return invalid!;
        if (CheckIds(("user_id", body.UserId), ("session_id", body.SessionId), ("task_id", body.TaskId)) is { } idError) return ApiError.BadRequest(idError);
        if (AgentAccess.ActAs(ctx.Caller(), body.UserId!) is not { } actor) return ApiError.Forbidden(AgentAccess.Forbidden(body.UserId!));

        var r = await resumer.ResumeAsync(actor, body.TaskId!, body.SessionId, null, body.ResponseType, body.ArgsElement(), ct);
        if (r.Task is not { } t) return r.Refusal(ctx.Response);
        return TypedResults.Ok(new AgentTaskIds(t.UserId, t.ConversationId, t.PublicId));
    }

    /// <summary>GET /system/info — an operator view across all users.</summary>
    public static async Task<Ok<SystemInfoResponse>> SystemInfo(ITaskStore store, CancellationToken ct) =>
        TypedResults.Ok(new SystemInfoResponse(await store.CountConversationsAsync(ct), await store.ActiveUsersAsync(ct)));

    /// <summary>GET /agent/active/sessionid/{user_id} — 404 when the user has no session.</summary>
    public static async Task<Results<Ok<ActiveSessionInfoResponse>, JsonHttpResult<ErrorBody>>> ActiveSession(
        string user_id, HttpContext ctx, ITaskStore store, CancellationToken ct)
    {
        if (Authorize(ctx, user_id) is { } denied) return denied;
        var sessions = await store.ListConversationsAsync(user_id, ct);
        if (sessions.Count == 0) return ApiError.NotFound($"user '{user_id}' has no sessions");
        return TypedResults.Ok(new ActiveSessionInfoResponse(sessions[0].Id));
    }

    /// <summary>GET /agent/sessionids/{user_id} — an empty list for a user without sessions.</summary>
    public static async Task<Results<Ok<SessionInfoResponse>, JsonHttpResult<ErrorBody>>> SessionIds(
        string user_id, HttpContext ctx, ITaskStore store, CancellationToken ct)
    {
        if (Authorize(ctx, user_id) is { } denied) return denied;
        var sessions = await store.ListConversationsAsync(user_id, ct);
        return TypedResults.Ok(new SessionInfoResponse(sessions.Select(s => s.Id).ToList()));
    }

    /// <summary>GET /agent/tasks/{user_id}/{session_id} — 404 for an unknown session.</summary>
    public static async Task<Results<Ok<TaskInfoResponse>, JsonHttpResult<ErrorBody>>> Tasks(
        string user_id, string session_id, HttpContext ctx, ITaskStore store, CancellationToken ct)
    {
        if (Authorize(ctx, user_id, ("session_id", session_id)) is { } denied) return denied;
        if (await store.GetConversationAsync(user_id, session_id, ct) is null)
            return ApiError.NotFound($"session '{session_id}' of user '{user_id}' not found");
        var tasks = await store.ListTasksAsync(user_id, session_id, ct);
        return TypedResults.Ok(new TaskInfoResponse(tasks.Select(t => t.PublicId).ToList(), tasks.Select(t => new AgentTaskItem(t.PublicId, TaskStatus.Public(t.Status))).ToList()));
    }

    /// <summary>
    /// GET /agent/status/{user_id}/{session_id}/{task_id}. Unknown ids are a status here, not an error (the spec's
    /// <c>not_found</c>); a session that exists but has no task at all is <c>idle</c>.
    /// </summary>
    public static async Task<Results<Ok<SessionStatusResponse>, JsonHttpResult<ErrorBody>>> Status(
        string user_id, string session_id, string task_id, HttpContext ctx, ITaskStore store, CancellationToken ct)
    {
        if (Authorize(ctx, user_id, ("session_id", session_id), ("task_id", task_id)) is { } denied) return denied;
        var task = await store.FindTaskAsync(user_id, task_id, ct);
        if (task is not null && task.ConversationId == session_id)
            return TypedResults.Ok(await StatusOfAsync(task, store, ct));

        var session = await store.GetConversationAsync(user_id, session_id, ct);
        if (session is null)
            return TypedResults.Ok(new SessionStatusResponse(user_id, session_id, task_id, NotFound,
                $"session '{session_id}' of user '{user_id}' not found", null, null, null));
        if ((await store.ListTasksAsync(user_id, session_id, ct)).Count == 0)
            return TypedResults.Ok(new SessionStatusResponse(user_id, session_id, task_id, Idle,
                $"session '{session_id}' has no task yet", null, session.UpdatedAt, null));
        return TypedResults.Ok(new SessionStatusResponse(user_id, session_id, task_id, NotFound,
            $"task '{task_id}' not found in session '{session_id}'", null, null, null));
    }

    private static async Task<SessionStatusResponse> StatusOfAsync(TaskRecord t, ITaskStore store, CancellationToken ct)
    {
        string? message = t.Status switch
        {
            TaskStatus.Error => t.Error,
            TaskStatus.Cancelled => await CancelReasonAsync(t, store, ct),
            _ => null,
        };
        var last = t.Status is TaskStatus.Running or TaskStatus.Queued ? null : new AgentResponse(
            t.ConversationId, t.PublicId, t.Status, t.UpdatedAt, message,
            t.Status == TaskStatus.Completed ? ParseJson(t.Result) : null,
            t.Status == TaskStatus.Interrupted ? ParseJson(t.Interrupt) : null);
        return new SessionStatusResponse(t.UserId, t.ConversationId, t.PublicId, TaskStatus.Public(t.Status), message, t.Query, t.UpdatedAt, last,
            await store.QueuePositionAsync(t, UnixTime.Now(), ct));
    }

    // The reason lives in the terminal task_cancelled event, which is the last of the log.
    private static async Task<string> CancelReasonAsync(TaskRecord t, ITaskStore store, CancellationToken ct)
    {
        var events = await store.ReadEventsAsync(t.Id, Math.Max(0, t.NextIdx - 1), 1, ct);
        if (events is [{ Type: EventTypes.TaskCancelled } e])
        {
            using var doc = JsonDocument.Parse(e.Data);
            if (doc.RootElement.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String)
                return "task cancelled: " + r.GetString();
        }
        return "task cancelled";
    }

    private static JsonElement? ParseJson(string? json) => string.IsNullOrEmpty(json) ? null : JsonElement.Parse(json);

    /// <summary>DELETE /agent/session/{user_id}/{session_id} — its active task is cancelled first, then everything of it is removed.</summary>
    public static async Task<Results<Ok<AgentDeleteResponse>, JsonHttpResult<ErrorBody>>> DeleteSession(
        string user_id, string session_id, HttpContext ctx, ITaskStore store, TaskCanceller canceller, CancellationToken ct)
    {
        if (Authorize(ctx, user_id, ("session_id", session_id)) is { } denied) return denied;
        var actor = AgentAccess.ActAs(ctx.Caller(), user_id)!;
        if (await store.GetConversationAsync(user_id, session_id, ct) is null)
            return ApiError.NotFound($"session '{session_id}' of user '{user_id}' not found");
        // Cancel first so that the worker holding the task stops (CancelTask) instead of running on against deleted rows.
        foreach (var t in await store.ListTasksAsync(user_id, session_id, ct))
        {
            if (!TaskStatus.IsTerminal(t.Status)) await canceller.CancelAsync(actor, t.PublicId, "session deleted", ct);
        }
        if (!await store.DeleteConversationAsync(user_id, session_id, ct))
            return ApiError.NotFound($"session '{session_id}' of user '{user_id}' not found");
        return TypedResults.Ok(new AgentDeleteResponse("success", $"用户 {user_id}:{session_id} 的会话已删除"));
    }

    /// <summary>DELETE /agent/session/{user_id}/{session_id}/{task_id} — cancelled first if still active, then removed.</summary>
    public static async Task<Results<Ok<AgentDeleteResponse>, JsonHttpResult<ErrorBody>>> DeleteTask(
        string user_id, string session_id, string task_id, HttpContext ctx, ITaskStore store, TaskCanceller canceller, TaskDispatcher dispatcher,
        CancellationToken ct)
    {
        if (Authorize(ctx, user_id, ("session_id", session_id), ("task_id", task_id)) is { } denied) return denied;
        var actor = AgentAccess.ActAs(ctx.Caller(), user_id)!;
        var task = await store.FindTaskAsync(user_id, task_id, ct);
        if (task is null || task.ConversationId != session_id)
            return ApiError.NotFound($"task '{task_id}' not found in session '{session_id}' of user '{user_id}'");
        if (!TaskStatus.IsTerminal(task.Status)) await canceller.CancelAsync(actor, task_id, "task deleted", ct);
        if (!await store.DeleteTaskAsync(user_id, task.Id, ct))
            return ApiError.NotFound($"task '{task_id}' not found in session '{session_id}' of user '{user_id}'");
        dispatcher.DispatchStartedInBackground(user_id, session_id); // a queued message its end started
        return TypedResults.Ok(new AgentDeleteResponse("success", $"用户 {user_id}:{session_id}:{task_id} 的任务已删除"));
    }

    /// <summary>400 for an id that cannot be one, 403 for another user's id (unless admin); null when the call may go on.</summary>
    private static JsonHttpResult<ErrorBody>? Authorize(HttpContext ctx, string userId, params (string Field, string? Value)[] ids)
    {
        if (CheckIds([("user_id", userId), .. ids]) is { } error) return ApiError.BadRequest(error);
        return AgentAccess.ActAs(ctx.Caller(), userId) is null ? ApiError.Forbidden(AgentAccess.Forbidden(userId)) : null;
    }

    private static string? CheckIds(params (string Field, string? Value)[] ids)
    {
        foreach (var (field, value) in ids)
        {
            if (AgentAccess.CheckId(field, value) is { } error) return error;
        }
        return null;
    }
}
