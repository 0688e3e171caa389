using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using Agents.Micro.TaskApi.Streaming;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;

namespace Agents.Micro.TaskApi.Endpoints;

/// <summary>Following a task live: Server-Sent Events and a WebSocket, both resumable from an event offset.</summary>
public static class StreamEndpoints
{
    public static IEndpointRouteBuilder MapStreamEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/tasks").RequireAuthorization().WithTags("v1 tasks");
        api.MapGet("/{task_id}/events", StreamEvents).WithName("StreamTaskEvents")
            .WithSummary("follow a task's events as Server-Sent Events (resume with Last-Event-ID or ?from=N)")
            .WithQueryParameter(TaskEndpoints.From).Produces(StatusCodes.Status200OK, contentType: "text/event-stream").ProducesErrors(400, 401, 404);
        api.MapGet("/{task_id}/ws", FollowOverWebSocket).WithName("FollowTaskWebSocket")
            .WithSummary("follow a task's events over a WebSocket (send {\"from\": N} to resubscribe)")
            .WithQueryParameter(TaskEndpoints.From).ProducesErrors(400, 401, 404);
        return app;
    }

    /// <summary>
    /// GET /api/v1/tasks/{task_id}/events — <c>id:</c> is the event's idx, <c>event:</c> its type, <c>data:</c> the event
    /// as polling returns it. Starts after <c>Last-Event-ID</c>, else at <c>?from=N</c> (default 0); ends after the terminal event.
    /// </summary>
    public static async Task<Results<EmptyHttpResult, JsonHttpResult<ErrorBody>>> StreamEvents(
        string task_id, HttpContext ctx, ITaskStore store, TaskEventFollower follower, IOptions<JsonOptions> json, CancellationToken ct)
    {
        var lastId = ctx.Request.Headers["Last-Event-ID"];
        long from;
        if (lastId.Count > 0 && !string.IsNullOrWhiteSpace(lastId[0]))
        {
            if (!long.TryParse(lastId[0]!.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var last))
                return ApiError.BadRequest("'Last-Event-ID' must be a non-negative integer (an event idx)");
            from = last + 1;
        }
        else if (TaskEndpoints.From.Read(ctx, out from) is { } error) return ApiError.BadRequest(error);

        var task = await store.FindTaskAsync(ctx.Caller().UserId, task_id, ct);
        if (task is null) return ApiError.NotFound($"task '{task_id}' not found");

        var response = ctx.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache, no-transform";
        // Tells nginx-style proxies in front of us not to buffer either.
        response.Headers["X-Accel-Buffering"] = "no";
        ctx.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var options = json.Value.SerializerOptions;
        try
        {
            // Headers and a reconnect hint go out at once, so clients (and proxies) see the stream open before any event.
            await response.WriteAsync("retry: 3000\n\n", ct);
            await response.Body.FlushAsync(ct);
            await foreach (var batch in follower.FollowAsync(task.Id, from, TaskStatus.IsTerminal(task.Status), ct))
            {
                var sb = new StringBuilder();
                if (batch.Count == 0) sb.Append(": keep-alive\n\n");
                foreach (var e in batch)
                {
                    sb.Append("id: ").Append(e.Idx.ToString(CultureInfo.InvariantCulture))
                        .Append("\nevent: ").Append(e.Type)
                        .Append("\ndata: ").Append(JsonSerializer.Serialize(ToDto(e), options)).Append("\n\n");
                }
                await response.WriteAsync(sb.ToString(), ct);
                await response.Body.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
        return TypedResults.Empty;
    }

    /// <summary>
    /// GET /api/v1/tasks/{task_id}/ws (WebSocket) — each event is one JSON text message, the event as polling returns it,
    /// from <c>?from=N</c> (default 0). The client may send <c>{"from": N}</c> at any time to start again at N. The server
    /// closes normally after the terminal event.
    /// </summary>
    public static async Task<Results<EmptyHttpResult, JsonHttpResult<ErrorBody>>> FollowOverWebSocket(
        string task_id, HttpContext ctx, ITaskStore store, TaskEventFollower follower, IOptions<JsonOptions> json,
        IOptions<StreamingOptions> streaming, ILoggerFactory logs, CancellationToken ct)
    {
        if (!ctx.WebSockets.IsWebSocketRequest) return ApiError.BadRequest("this endpoint needs a WebSocket upgrade (use /events for Server-Sent Events)");
        if (TaskEndpoints.From.Read(ctx, out long from) is { } error) return ApiError.BadRequest(error);
        var task = await store.FindTaskAsync(ctx.Caller().UserId, task_id, ct);
        if (task is null) return ApiError.NotFound($"task '{task_id}' not found");

        using var socket = await ctx.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = TimeSpan.FromSeconds(streaming.Value.KeepAliveSeconds),
        });
        var session = new TaskEventSocket(socket, follower, json.Value.SerializerOptions, logs.CreateLogger(typeof(TaskEventSocket)));
        await session.RunAsync(task.Id, from, TaskStatus.IsTerminal(task.Status), ct);
        return TypedResults.Empty;
    }

    public static TaskEventDto ToDto(StoredEvent e) => new(e.Idx, e.Type, JsonElement.Parse(e.Data), e.Ts);
}
