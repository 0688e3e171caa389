using Agents.Micro.ServiceDefaults.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Agents.Micro.MemoryService.Endpoints;

public sealed record LongTermWriteResponse(string Status, string MemoryId, string Message);

/// <summary>The agent-service API's memory endpoint (<c>spec/agent-service-api.md</c>).</summary>
public static class LongTermMemoryEndpoints
{
    public const string StoredMessage = "记忆存储成功";

    public static IEndpointRouteBuilder MapLongTermMemoryEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/agent/write/longterm", WriteLongTerm).RequireAuthorization().WithTags("agent memory")
            .WithSummary("store a long-term memory for the user").WithDescription("写入长期记忆").Accepts<LongTermWriteRequest>("application/json")
            .ProducesErrors(400, 401, 403, 415);
        return app;
    }

    /// <summary>
    /// POST /agent/write/longterm <c>{"user_id", "memory_info"}</c>. The path names the user, so the caller must be that
    /// user (or an admin). Writing the same content again answers with the id it already has.
    /// </summary>
    public static async Task<Results<Ok<LongTermWriteResponse>, JsonHttpResult<ErrorBody>>> WriteLongTerm(
        HttpContext ctx, IMemoryStore store, IOptions<MemoryOptions> options, CancellationToken ct)
    {
        var (body, invalid) = await StrictJson.ReadAsync<LongTermWriteRequest>(ctx.Request);
        if (body is null) return invalid!;
        var userId = body.UserId;
        var info = body.MemoryInfo;
        if (MemoryInput.CheckContent(info, options.Value, "memory_info") is { } bad) return ApiError.BadRequest(bad);

        var caller = ctx.Caller();
        if (userId != caller.UserId && !caller.IsAdmin)
            return ApiError.Forbidden("user_id does not match the authenticated user");

        var saved = await store.SaveAsync(userId!, new NewMemory(info!), ct);
        return TypedResults.Ok(new LongTermWriteResponse("success", saved.Id, StoredMessage));
    }
}
