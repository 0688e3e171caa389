using Agents.Micro.TaskApi.Streaming;
using Microsoft.OpenApi;

namespace Agents.Micro.TaskApi.Endpoints;

public sealed record TaskEventDto(long Idx, string Type, JsonElement Data, double Ts);

/// <summary>The poll object; <c>queue_position</c> is an addition to the spec: 1 = next, null unless waiting for a worker.</summary>
public sealed record TaskPollData(string TaskId, string Status, double CreatedAt, double UpdatedAt, string? Error, IReadOnlyList<TaskEventDto> Events, long NextOffset,
    long? QueuePosition = null);

public sealed record TaskPollResponse(bool Success, TaskPollData Data);

public sealed record CancelResponse(bool Success, string Status);

public sealed record ResumeResponse(bool Success, string TaskId, string ConversationId, string Status);

public static class TaskEndpoints
{
    public const int MaxEventsPerPoll = 1000;

    /// <summary>The event offset to read from, on the poll and on both streams.</summary>
    public static readonly IntegerQuery From = new("from", "first event index to return (default 0); continue from next_offset");

    public static readonly IntegerQuery Limit = new("limit", $"at most this many events (default {MaxEventsPerPoll})", MaxEventsPerPoll, 1, MaxEventsPerPoll);

    public static readonly IntegerQuery Wait = new("wait",
        "long poll: answer as soon as an event at or after 'from' exists, or after this many seconds with none (at most Streaming:MaxWaitSeconds)");

    public static IEndpointRouteBuilder MapTaskEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/tasks").RequireAuthorization().WithTags("v1 tasks");
        api.MapGet("/{task_id}", PollTask).WithName("PollTask").WithSummary("poll a task's events from an offset").WithDescription("轮询任务事件")
            .WithQueryParameter(From).WithQueryParameter(Limit).WithQueryParameter(Wait).ProducesErrors(400, 401, 404);
        api.MapPost("/{task_id}/cancel", CancelTask).WithName("CancelTask").WithSummary("ask a task to stop").WithDescription("请求停止任务").ProducesErrors(401, 404);
        api.MapPost("/{task_id}/resume", ResumeTask).WithName("ResumeTask").WithSummary("resume an interrupted task with a decision")
            .Accepts<ResumeTaskRequest>("application/json").ProducesErrors(400, 401, 404, 409, 415);
        return app;
    }

    /// <summary>
    /// GET /api/v1/tasks/{task_id}?from=N[&amp;wait=S] — events from index N on, and the offset to continue from. With
    /// <c>wait</c> (a long poll), answers as soon as an event at or after N exists, or after S seconds with none.
    /// </summary>
    public static async Task<Results<Ok<TaskPollResponse>, JsonHttpResult<ErrorBody>>> PollTask(
        string task_id, HttpContext ctx, ITaskStore store, TaskEventFollower follower, IOptions<StreamingOptions> streaming, CancellationToken ct)
    {
        if (From.Read(ctx, out long from) is { } badFrom) return ApiError.BadRequest(badFrom);
        if (Limit.Read(ctx, out int limit) is { } badLimit) return ApiError.BadRequest(badLimit);
        if (Wait.Read(ctx, out int wait, streaming.Value.MaxWaitSeconds) is { } badWait) return ApiError.BadRequest(badWait);

        var (task, events) = await store.ReadWithEventsAsync(ctx.Caller().UserId, task_id, from, limit, ct);
        if (task is null) return ApiError.NotFound($"task '{task_id}' not found");
        // Long poll: nothing new yet on a task still going, so wait for a worker's notification, then read again.
        if (wait > 0 && events.Count == 0 && !Agents.Micro.Storage.Tasks.TaskStatus.IsTerminal(task.Status)
            && await follower.WaitForEventsAsync(task.Id, from, TimeSpan.FromSeconds(wait), ct))
        {
            var (again, more) = await store.ReadWithEventsAsync(ctx.Caller().UserId, task_id, from, limit, ct);
            if (again is null) return ApiError.NotFound($"task '{task_id}' not found");
            (task, events) = (again, more);
        }
        // Accepted but waiting for a worker (the status stays "running", as both specs know it): say where it stands.
        var position = await store.QueuePositionAsync(task, UnixTime.Now(), ct);
        return TypedResults.Ok(new TaskPollResponse(true, ToPollData(task, events, from) with { QueuePosition = position }));
    }

    public static TaskPollData ToPollData(TaskRecord task, IReadOnlyList<StoredEvent> events, long from) => new(
        task.PublicId, TaskStatus.Public(task.Status), task.CreatedAt, task.UpdatedAt, task.Error,
        events.Select(e => new TaskEventDto(e.Idx, e.Type, JsonElement.Parse(e.Data), e.Ts)).ToList(),
        events.Count > 0 ? events[^1].Idx + 1 : from);

    /// <summary>POST /api/v1/tasks/{task_id}/cancel — idempotent; a task no worker holds is cancelled at once.</summary>
    public static async Task<Results<Ok<CancelResponse>, JsonHttpResult<ErrorBody>>> CancelTask(
        string task_id, HttpContext ctx, TaskCanceller canceller, CancellationToken ct)
    {
        var outcome = await canceller.CancelAsync(ctx.Caller(), task_id, "cancelled by user", ct);
        if (outcome is null) return ApiError.NotFound($"task '{task_id}' not found");
        TaskApiTelemetry.AddTraceIdHeader(ctx.Response);
        return TypedResults.Ok(new CancelResponse(true, outcome));
    }

    /// <summary>POST /api/v1/tasks/{task_id}/resume — <c>{"response_type": "accept|edit|reject|respond", "args": {…}}</c>.</summary>
    public static async Task<Results<Ok<ResumeResponse>, JsonHttpResult<ErrorBody>>> ResumeTask(
        string task_id, HttpContext ctx, TaskResumer resumer, CancellationToken ct)
    {
        var (body, invalid) = await StrictJson.ReadAsync<ResumeTaskRequest>(ctx.Request);
        if (body is null) return invalid!;
        var r = await resumer.ResumeAsync(ctx.Caller(), task_id, null, body.InterruptId, body.ResponseType, body.ArgsElement(), ct);
        if (r.Task is not { } t) return r.Refusal(ctx.Response);
        TaskApiTelemetry.AddTraceIdHeader(ctx.Response);
        return TypedResults.Ok(new ResumeResponse(true, t.PublicId, t.ConversationId, Agents.Micro.Storage.Tasks.TaskStatus.Running));
    }
}
