namespace Agents.Micro.TaskApi.Endpoints;

public sealed record CreateConversationResponse(bool Success, string ConversationId);

public sealed record ConversationItem(string ConversationId, string? Title, double CreatedAt, double UpdatedAt);

public sealed record ListConversationsResponse(bool Success, IReadOnlyList<ConversationItem> Items);

public sealed record ConversationTaskItem(string TaskId, string Status, string Message, double CreatedAt, double UpdatedAt, long EventCount);

public sealed record ListConversationTasksResponse(bool Success, string ConversationId, IReadOnlyList<ConversationTaskItem> Items);

public static class ConversationEndpoints
{
    public static IEndpointRouteBuilder MapConversationEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/conversations").RequireAuthorization().WithTags("v1 conversations");
        api.MapPost("", CreateConversation).WithName("CreateConversation").WithSummary("create a conversation").WithDescription("创建对话")
            .Accepts<CreateConversationRequest>(isOptional: true, "application/json").ProducesErrors(400, 401, 415);
        api.MapGet("", ListConversations).WithName("ListConversations").WithSummary("the caller's conversations, most recently active first").ProducesErrors(401);
        api.MapGet("/{conversation_id}/tasks", ListConversationTasks).WithName("ListConversationTasks")
            .WithSummary("the conversation's tasks (its turns), oldest first; read each one's events with GET /api/v1/tasks/{task_id}")
            .ProducesErrors(401, 404);
        return app;
    }

    /// <summary>POST /api/v1/conversations — the body is optional; <c>{"title": "…"}</c> names the conversation.</summary>
    public static async Task<Results<Ok<CreateConversationResponse>, JsonHttpResult<ErrorBody>>> CreateConversation(
        HttpContext ctx, ITaskStore store, CancellationToken ct)
    {
        var (body, invalid) = await StrictJson.ReadAsync<CreateConversationRequest>(ctx.Request, allowEmpty: true);
        if (body is null) return invalid!;
        var id = await ConversationIds.CreateAsync(store, ctx.Caller().UserId, ct, body.Title);
        return TypedResults.Ok(new CreateConversationResponse(true, id));
    }

    /// <summary>GET /api/v1/conversations — the caller's conversations, most recently active first.</summary>
    public static async Task<Ok<ListConversationsResponse>> ListConversations(HttpContext ctx, ITaskStore store, CancellationToken ct)
    {
        var list = await store.ListConversationsAsync(ctx.Caller().UserId, ct);
        return TypedResults.Ok(new ListConversationsResponse(true, list.Select(c => new ConversationItem(c.Id, c.Title, c.CreatedAt, c.UpdatedAt)).ToList()));
    }

    /// <summary>
    /// GET /api/v1/conversations/{conversation_id}/tasks — the turns of a conversation, so a client that did not send
    /// them (another device, a restarted browser) can show the conversation. 404 for a conversation that is not the caller's.
    /// </summary>
    public static async Task<Results<Ok<ListConversationTasksResponse>, JsonHttpResult<ErrorBody>>> ListConversationTasks(
        string conversation_id, HttpContext ctx, ITaskStore store, CancellationToken ct)
    {
        var user = ctx.Caller().UserId;
        if (await store.GetConversationAsync(user, conversation_id, ct) is null)
            return ApiError.NotFound($"conversation '{conversation_id}' not found");
        var tasks = await store.ListTasksAsync(user, conversation_id, ct);
        return TypedResults.Ok(new ListConversationTasksResponse(true, conversation_id, tasks
            .Select(t => new ConversationTaskItem(t.PublicId, TaskStatus.Public(t.Status), t.Query, t.CreatedAt, t.UpdatedAt, t.NextIdx)).ToList()));
    }
}
