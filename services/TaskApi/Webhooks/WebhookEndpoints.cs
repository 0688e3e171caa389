using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using Agents.Micro.Storage.Webhooks;

namespace Agents.Micro.TaskApi.Webhooks;

public sealed record CreateWebhookRequest(
    [property: Required, StringLength(2000), Description("the receiver: https://… (plain http only where Webhooks:AllowHttp is on)")] string? Url,
    [property: MaxLength(4), Description("task.completed, task.failed, task.cancelled, task.interrupted (default: all four)")] IReadOnlyList<string>? Events = null,
    [property: Description("true (default): every task of yours; false: only tasks whose request names this URL in webhook_url")] bool? AllTasks = null,
    [property: StringLength(500)] string? Description = null);

public sealed record WebhookItem(string WebhookId, string Url, IReadOnlyList<string> Events, bool AllTasks, string? Description, double CreatedAt);

/// <summary><c>secret</c> (<c>whsec_…</c>) verifies the signatures; it is shown here only, once.</summary>
public sealed record CreateWebhookResponse(bool Success, WebhookItem Webhook, string Secret);

public sealed record ListWebhooksResponse(bool Success, IReadOnlyList<WebhookItem> Items);

public sealed record GetWebhookResponse(bool Success, WebhookItem Webhook);

public sealed record DeleteWebhookResponse(bool Success, string WebhookId);

public sealed record WebhookAttemptItem(long Attempt, double At, int? StatusCode, double LatencyMs, string? Error);

/// <summary>One event sent (or being sent) to an endpoint; <c>message_id</c> is its <c>webhook-id</c> header.</summary>
public sealed record WebhookDeliveryItem(string DeliveryId, string MessageId, string EventType, string TaskId, string Status, long Attempts,
    double CreatedAt, double? NextAttemptAt, double? DeliveredAt, IReadOnlyList<WebhookAttemptItem> AttemptLog);

public sealed record ListDeliveriesResponse(bool Success, string WebhookId, IReadOnlyList<WebhookDeliveryItem> Items);

public sealed record ResendResponse(bool Success, string DeliveryId, string Status);

/// <summary>
/// The caller's webhook endpoints: register (the signing secret is answered once), list, read, delete, the delivery
/// log, and "send again". Each endpoint and its deliveries are visible to their user only (another's id is a 404).
/// </summary>
public static class WebhookEndpoints
{
    public static readonly IntegerQuery DeliveriesLimit = new("limit", "newest deliveries to show", 50, 1, 500);

    public static IEndpointRouteBuilder MapWebhookEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/webhooks").RequireAuthorization().WithTags("v1 webhooks");
        api.MapPost("", Create).WithName("CreateWebhook").WithSummary("register a webhook endpoint (its signing secret is in this answer only)")
            .Accepts<CreateWebhookRequest>("application/json").Produces<CreateWebhookResponse>(StatusCodes.Status201Created).ProducesErrors(400, 401, 409, 415);
        api.MapGet("", List).WithName("ListWebhooks").WithSummary("the caller's webhook endpoints").ProducesErrors(401);
        api.MapGet("/{webhook_id}", Get).WithName("GetWebhook").WithSummary("one webhook endpoint").ProducesErrors(401, 404);
        api.MapDelete("/{webhook_id}", Delete).WithName("DeleteWebhook").WithSummary("delete an endpoint; nothing more is sent to it").ProducesErrors(401, 404);
        api.MapGet("/{webhook_id}/deliveries", Deliveries).WithName("ListWebhookDeliveries")
            .WithSummary("the endpoint's deliveries, newest first, each with its attempts (time, status code, latency, error)")
            .WithQueryParameter(DeliveriesLimit).ProducesErrors(400, 401, 404);
        api.MapPost("/{webhook_id}/deliveries/{delivery_id}/resend", Resend).WithName("ResendWebhookDelivery")
            .WithSummary("send a delivery again (same message id and body, a fresh retry window)")
            .Produces<ResendResponse>(StatusCodes.Status202Accepted).ProducesErrors(401, 404);
        return app;
    }

    public static async Task<Results<JsonHttpResult<CreateWebhookResponse>, JsonHttpResult<ErrorBody>>> Create(
        HttpContext ctx, WebhookStore store, WebhookDestinations destinations, WebhookSender sender, IOptions<WebhookOptions> options, CancellationToken ct)
    {
        var (body, invalid) = await StrictJson.ReadAsync<CreateWebhookRequest>(ctx.Request);
        if (body is null) return invalid!;
        var events = body.Events ?? WebhookEvents.All;
        if (events.Count == 0) return ApiError.BadRequest("'events' must name at least one event");
        if (events.FirstOrDefault(e => !WebhookEvents.All.Contains(e)) is { } unknown)
            return ApiError.BadRequest($"'events': unknown event '{unknown}' (known: {string.Join(", ", WebhookEvents.All)})");
        var (url, error) = await destinations.CheckUrlAsync(body.Url!, ct);
        if (url is null) return ApiError.BadRequest(error!);

        var user = ctx.Caller().UserId;
        var mine = await store.ListEndpointsAsync(user, ct);
        if (mine.Any(e => e.Url == url.AbsoluteUri)) return ApiError.Conflict($"you already have a webhook for {url.AbsoluteUri}");
        if (mine.Count >= options.Value.MaxEndpointsPerUser)
            return ApiError.Conflict($"you have {mine.Count} webhooks, the most allowed (Webhooks:MaxEndpointsPerUser); delete one first");
        var endpoint = new WebhookEndpoint
        {
            Id = "wh_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)),
            UserId = user,
            Url = url.AbsoluteUri,
            Secret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            Events = WebhookEndpoint.JoinEvents(events),
            AllTasks = body.AllTasks ?? true,
            Description = body.Description,
            CreatedAt = UnixTime.Now(),
        };
        try
        {
            await store.CreateEndpointAsync(endpoint, ct);
            sender.EndpointAdded();
        }
        catch (System.Data.Common.DbException ex) when (SqlDatabase.IsUniqueViolation(ex))
        {
            return ApiError.Conflict($"you already have a webhook for {url.AbsoluteUri}");
        }
        return TypedResults.Json(new CreateWebhookResponse(true, Item(endpoint), endpoint.Secret), statusCode: StatusCodes.Status201Created);
    }

    public static async Task<Ok<ListWebhooksResponse>> List(HttpContext ctx, WebhookStore store, CancellationToken ct) =>
        TypedResults.Ok(new ListWebhooksResponse(true, (await store.ListEndpointsAsync(ctx.Caller().UserId, ct)).Select(Item).ToList()));

    public static async Task<Results<Ok<GetWebhookResponse>, JsonHttpResult<ErrorBody>>> Get(
        string webhook_id, HttpContext ctx, WebhookStore store, CancellationToken ct) =>
        await store.GetEndpointAsync(ctx.Caller().UserId, webhook_id, ct) is { } e
            ? TypedResults.Ok(new GetWebhookResponse(true, Item(e)))
            : NotFound(webhook_id);

    public static async Task<Results<Ok<DeleteWebhookResponse>, JsonHttpResult<ErrorBody>>> Delete(
        string webhook_id, HttpContext ctx, WebhookStore store, CancellationToken ct) =>
        await store.DeleteEndpointAsync(ctx.Caller().UserId, webhook_id, ct)
            ? TypedResults.Ok(new DeleteWebhookResponse(true, webhook_id))
            : NotFound(webhook_id);

    public static async Task<Results<Ok<ListDeliveriesResponse>, JsonHttpResult<ErrorBody>>> Deliveries(
        string webhook_id, HttpContext ctx, WebhookStore store, CancellationToken ct)
    {
        if (DeliveriesLimit.Read(ctx, out int limit) is { } bad) return ApiError.BadRequest(bad);
        if (await store.GetEndpointAsync(ctx.Caller().UserId, webhook_id, ct) is null) return NotFound(webhook_id);
        var list = await store.ListDeliveriesAsync(webhook_id, limit, ct);
        return TypedResults.Ok(new ListDeliveriesResponse(true, webhook_id, list.Select(x => new WebhookDeliveryItem(
            x.Delivery.Id, "msg_" + x.Delivery.Id, x.Delivery.EventType, x.Delivery.PublicTaskId, x.Delivery.Status, x.Delivery.Attempts,
            x.Delivery.CreatedAt, x.Delivery.NextAttemptAt, x.Delivery.DeliveredAt,
            x.Attempts.Select(a => new WebhookAttemptItem(a.Attempt, a.At, a.StatusCode, Math.Round(a.LatencyMs, 1), a.Error)).ToList())).ToList()));
    }

    public static async Task<Results<JsonHttpResult<ResendResponse>, JsonHttpResult<ErrorBody>>> Resend(
        string webhook_id, string delivery_id, HttpContext ctx, WebhookStore store, WebhookSender sender, CancellationToken ct)
    {
        if (await store.GetEndpointAsync(ctx.Caller().UserId, webhook_id, ct) is null) return NotFound(webhook_id);
        if (!await store.ResendAsync(webhook_id, delivery_id, UnixTime.Now(), ct))
            return ApiError.NotFound($"delivery '{delivery_id}' of webhook '{webhook_id}' not found");
        sender.Nudge();
        return TypedResults.Json(new ResendResponse(true, delivery_id, DeliveryStatus.Pending), statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>
    /// The endpoint a send's <c>webhook_url</c> names: one of the caller's own (registered first, so that it has a
    /// secret and passed the destination checks), or the 400 that says so.
    /// </summary>
    public static async Task<(string? Id, string? Error)> ResolveAsync(WebhookStore store, string userId, string? webhookUrl, CancellationToken ct)
    {
        if (webhookUrl is null) return (null, null);
        var normalized = Uri.TryCreate(webhookUrl, UriKind.Absolute, out var u) ? u.AbsoluteUri : webhookUrl;
        return await store.FindByUrlAsync(userId, normalized, ct) is { } e
            ? (e.Id, null)
            : (null, $"'webhook_url' is not one of your webhooks: register it first with POST /api/v1/webhooks (its signing secret is answered there)");
    }

    private static WebhookItem Item(WebhookEndpoint e) => new(e.Id, e.Url, e.EventList, e.AllTasks, e.Description, e.CreatedAt);

    private static JsonHttpResult<ErrorBody> NotFound(string id) => ApiError.NotFound($"webhook '{id}' not found");
}
