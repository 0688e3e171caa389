using System.Globalization;
using Agents.Micro.ServiceDefaults.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.OpenApi;

namespace Agents.Micro.MemoryService.Endpoints;

/// <summary>
/// <c>/api/v1/memories</c>: the caller's own memories. Admins get no view of other users here; an id that belongs to
/// someone else answers 404 exactly like an unknown one, so ids reveal nothing.
/// </summary>
public static class MemoryEndpoints
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;

    private static readonly IntegerQuery Limit = new("limit", "memories per page", DefaultLimit, 1, MaxLimit);
    private static readonly IntegerQuery Offset = new("offset", "memories to skip", 0, 0, int.MaxValue);

    public static IEndpointRouteBuilder MapMemoryEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/memories").RequireAuthorization().WithTags("v1 memories");
        api.MapGet("/", ListOrSearch).WithSummary("the caller's memories, newest first; ranked search with q")
            .WithQueryParameter("q", "search text (ranked results with a score)")
            .WithQueryParameter(Limit).WithQueryParameter(Offset).ProducesErrors(400, 401);
        api.MapPost("/", Create).WithSummary("store a memory (an exact duplicate answers 200 with the existing id)")
            .Accepts<CreateMemoryRequest>("application/json").Produces<MemoryCreatedResponse>(StatusCodes.Status201Created)
            .ProducesErrors(400, 401, 415);
        api.MapGet("/{memory_id}", Get).WithSummary("one memory").ProducesErrors(401, 404);
        api.MapDelete("/{memory_id}", Delete).WithSummary("delete one memory").ProducesErrors(401, 404);
        return app;
    }

    /// <summary>GET /api/v1/memories?q=&amp;limit=&amp;offset= — ranked search when <c>q</c> is given, newest first otherwise.</summary>
    public static async Task<Results<Ok<MemoryListResponse>, JsonHttpResult<ErrorBody>>> ListOrSearch(
        HttpContext ctx, IMemoryStore store, IOptions<MemoryOptions> options, CancellationToken ct)
    {
        if (Limit.Read(ctx, out int limit) is { } badLimit) return ApiError.BadRequest(badLimit);
        if (Offset.Read(ctx, out int offset) is { } badOffset) return ApiError.BadRequest(badOffset);
        var q = ctx.Request.Query["q"] is { Count: > 0 } qv ? qv[0] : null;
        if (q is not null && q.Length > options.Value.MaxQueryLength)
            return ApiError.BadRequest($"'q' is longer than {options.Value.MaxQueryLength} characters");

        var userId = ctx.Caller().UserId;
        var page = string.IsNullOrWhiteSpace(q)
            ? await store.ListAsync(userId, limit, offset, ct)
            : await store.SearchAsync(userId, q, limit, offset, ct);
        var items = page.Items.Select(i => MemoryDto.From(i.Memory, i.Score)).ToList();
        return TypedResults.Ok(new MemoryListResponse(true, items, page.Total, limit, offset));
    }

    /// <summary>
    /// POST /api/v1/memories <c>{"content", "tags"?}</c> — 201 with the new id; 200 with <c>duplicate: true</c> and the
    /// existing id when the same content is already stored (its tags are left as they were).
    /// </summary>
    public static async Task<Results<Created<MemoryCreatedResponse>, Ok<MemoryCreatedResponse>, JsonHttpResult<ErrorBody>>> Create(
        HttpContext ctx, IMemoryStore store, IOptions<MemoryOptions> options, CancellationToken ct)
    {
        var (body, invalid) = await StrictJson.ReadAsync<CreateMemoryRequest>(ctx.Request);
        if (body is null) return invalid!;
        var content = body.Content;
        var tags = body.Tags?.ToList();
        if (MemoryInput.CheckContent(content, options.Value) is { } badContent) return ApiError.BadRequest(badContent);
        if (MemoryInput.CheckTags(tags, options.Value) is { } badTags) return ApiError.BadRequest(badTags);

        var saved = await store.SaveAsync(ctx.Caller().UserId, new NewMemory(content!, tags), ct);
        var response = new MemoryCreatedResponse(true, saved.Id, saved.Duplicate);
        return saved.Duplicate ? TypedResults.Ok(response) : TypedResults.Created($"/api/v1/memories/{saved.Id}", response);
    }

    /// <summary>GET /api/v1/memories/{memory_id}.</summary>
    public static async Task<Results<Ok<MemoryResponse>, JsonHttpResult<ErrorBody>>> Get(
        string memory_id, HttpContext ctx, IMemoryStore store, CancellationToken ct)
    {
        var memory = await store.GetAsync(ctx.Caller().UserId, memory_id, ct);
        if (memory is null) return ApiError.NotFound($"memory '{memory_id}' not found");
        return TypedResults.Ok(new MemoryResponse(true, MemoryDto.From(memory)));
    }

    /// <summary>DELETE /api/v1/memories/{memory_id}.</summary>
    public static async Task<Results<Ok<MemoryDeletedResponse>, JsonHttpResult<ErrorBody>>> Delete(
        string memory_id, HttpContext ctx, IMemoryStore store, CancellationToken ct)
    {
        if (!await store.DeleteAsync(ctx.Caller().UserId, memory_id, ct)) return ApiError.NotFound($"memory '{memory_id}' not found");
        return TypedResults.Ok(new MemoryDeletedResponse(true, memory_id));
    }
}
