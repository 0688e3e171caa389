using Agents.Micro.Storage.Webhooks;
using Agents.Micro.TaskApi.Webhooks;

namespace Agents.Micro.TaskApi.Endpoints;

public sealed record SendMessageResponse(bool Success, string TaskId, string ConversationId, string Status, double CreatedAt);

public static class MessageEndpoints
{

    public static IEndpointRouteBuilder MapMessageEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/messages", SendMessage).RequireAuthorization().WithTags("v1 messages")
            .WithName("SendMessage").WithSummary("send a message; a background task answers it").WithDescription("发送消息并创建后台任务").Accepts<SendMessageRequest>("application/json")
            .Produces<SendMessageResponse>(StatusCodes.Status202Accepted).ProducesErrors(400, 401, 404, 409, 415, 429);
        return app;
    }

    /// <summary>POST /api/v1/messages — 202 with the new task; 400 for bad input, 404 unknown conversation, 409 busy conversation.</summary>
    public static async Task<Results<JsonHttpResult<SendMessageResponse>, JsonHttpResult<ErrorBody>>> SendMessage(
        HttpContext ctx, TaskSubmitter submitter, MessageImages imageCheck, WebhookStore webhooks, CancellationToken ct)
    {
        var (body, invalid) = await StrictJson.ReadAsync<SendMessageRequest>(ctx.Request);
        if (body is null) return invalid!;
        var message = body.Message;
        var images = body.Images ?? [];
        var conversationId = body.ConversationId;
        if (string.IsNullOrWhiteSpace(message) && images.Count == 0)
            return ApiError.BadRequest("'message' and 'images' must not both be empty");
        if (conversationId is not null && string.IsNullOrWhiteSpace(conversationId))
            return ApiError.BadRequest("'conversation_id' must not be empty when given");
        foreach (var img in images)
        {
            if (string.IsNullOrWhiteSpace(img)) return ApiError.BadRequest("'images' must not contain empty paths");
        }
        var (imagePaths, imageError) = await imageCheck.CheckAsync(ctx.Caller().UserId, images, ct);
        if (imagePaths is null) return ApiError.BadRequest(imageError!);
        var (webhookId, webhookError) = await WebhookEndpoints.ResolveAsync(webhooks, ctx.Caller().UserId, body.WebhookUrl, ct);
        if (webhookError is not null) return ApiError.BadRequest(webhookError);

        var options = new TaskOptions
        {
            Message = message ?? "",
            Images = imagePaths,
            ModelKey = body.ModelKey,
            RunMode = body.RunMode,
            ThinkingMode = body.ThinkingMode,
            MaxIterations = body.MaxIterations,
            WebhookId = webhookId,
            IfBusy = body.IfBusy,
            Api = "v1",
        };
        var result = await submitter.SubmitAsync(new SubmitRequest(ctx.Caller(), conversationId, false, null, options), ct);
        if (result.Task is not { } t) return result.Refusal(ctx.Response);
        TaskApiTelemetry.AddTraceIdHeader(ctx.Response);
        return TypedResults.Json(new SendMessageResponse(true, t.PublicId, t.ConversationId, TaskStatus.Public(t.Status), t.CreatedAt), statusCode: 202);
    }
}
