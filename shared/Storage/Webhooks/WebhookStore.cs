using Agents.Micro.ServiceDefaults.Data;
using Dapper;

namespace Agents.Micro.Storage.Webhooks;

/// <summary>
/// Webhook endpoints, their deliveries and each delivery's attempts, on the task store's database (the deliveries are
/// written by task transitions: <see cref="WebhookOutbox"/>). Every read and change of an endpoint is scoped to its user.
/// </summary>
public sealed class WebhookStore(SqlDatabase db)
{
    static WebhookStore() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    private const string EndpointColumns = "id, user_id, url, secret, events, all_tasks, description, created_at";
    private const string DeliveryColumns =
        "id, endpoint_id, user_id, task_id, public_task_id, event_type, event_idx, payload, status, attempts, next_attempt_at, window_start, window_first_attempt, created_at, delivered_at";

    public async Task CreateEndpointAsync(WebhookEndpoint e, CancellationToken ct = default) =>
        await db.WriteAsync((conn, tx) => conn.ExecuteAsync(new CommandDefinition(
            $"INSERT INTO webhook_endpoints({EndpointColumns}) VALUES (@Id, @UserId, @Url, @Secret, @Events, @AllTasks, @Description, @CreatedAt)",
            e, tx, cancellationToken: ct)), ct);

    public async Task<IReadOnlyList<WebhookEndpoint>> ListEndpointsAsync(string userId, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<WebhookEndpoint>(new CommandDefinition(
            $"SELECT {EndpointColumns} FROM webhook_endpoints WHERE user_id = @userId ORDER BY created_at, id", new { userId }, cancellationToken: ct))).ToList();
    }

    public async Task<WebhookEndpoint?> GetEndpointAsync(string userId, string id, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<WebhookEndpoint>(new CommandDefinition(
            $"SELECT {EndpointColumns} FROM webhook_endpoints WHERE user_id = @userId AND id = @id", new { userId, id }, cancellationToken: ct));
    }

    public async Task<WebhookEndpoint?> FindByUrlAsync(string userId, string url, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<WebhookEndpoint>(new CommandDefinition(
            $"SELECT {EndpointColumns} FROM webhook_endpoints WHERE user_id = @userId AND url = @url", new { userId, url }, cancellationToken: ct));
    }

    /// <summary>Removes the endpoint with its deliveries and their attempts (nothing more is sent to it).</summary>
    public Task<bool> DeleteEndpointAsync(string userId, string id, CancellationToken ct = default) =>
        db.WriteAsync(async (conn, tx) =>
        {
            var gone = await conn.ExecuteAsync("DELETE FROM webhook_endpoints WHERE user_id = @userId AND id = @id", new { userId, id }, tx);
            if (gone == 0) return false;
            await conn.ExecuteAsync("DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = @id)", new { id }, tx);
            await conn.ExecuteAsync("DELETE FROM webhook_deliveries WHERE endpoint_id = @id", new { id }, tx);
            return true;
        }, ct);

    /// <summary>
    /// Takes up to <paramref name="limit"/> deliveries that are due, for <paramref name="lockSeconds"/>: another sender
    /// (TaskApi runs as several instances) skips them meanwhile, and takes them over if this one dies.
    /// </summary>
    public Task<IReadOnlyList<WebhookDelivery>> ClaimDueAsync(double now, int limit, double lockSeconds, CancellationToken ct = default) =>
        db.WriteAsync<IReadOnlyList<WebhookDelivery>>(async (conn, tx) =>
        {
            var skipLocked = db.IsPostgres ? "FOR UPDATE SKIP LOCKED" : "";
            return (await conn.QueryAsync<WebhookDelivery>(
                $"""
                UPDATE webhook_deliveries SET locked_until = @until
                WHERE id IN (SELECT id FROM webhook_deliveries
                             WHERE status = 'pending' AND next_attempt_at <= @now AND (locked_until IS NULL OR locked_until < @now)
                             ORDER BY next_attempt_at LIMIT @limit {skipLocked})
                RETURNING {DeliveryColumns}
                """, new { now, until = now + lockSeconds, limit }, tx)).ToList();
        }, ct);

    /// <summary>Whether any user has a webhook endpoint (without one, no delivery can exist).</summary>
    public async Task<bool> AnyEndpointsAsync(CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM (SELECT 1 FROM webhook_endpoints LIMIT 1) e", cancellationToken: ct)) > 0;
    }

    /// <summary>When the next pending delivery becomes due (its retry time, or when another sender's claim on it runs out); null: none pending.</summary>
    public async Task<double?> NextDueAsync(CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<double?>(new CommandDefinition(
            "SELECT MIN(CASE WHEN locked_until > next_attempt_at THEN locked_until ELSE next_attempt_at END) FROM webhook_deliveries WHERE status = 'pending'",
            cancellationToken: ct));
    }

    public async Task<WebhookEndpoint?> GetEndpointByIdAsync(string id, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<WebhookEndpoint>(new CommandDefinition(
            $"SELECT {EndpointColumns} FROM webhook_endpoints WHERE id = @id", new { id }, cancellationToken: ct));
    }

    /// <summary>Keeps <paramref name="payload"/> as the delivery's body unless it has one; the body it has now.</summary>
    public Task<string> FixPayloadAsync(string id, string payload, CancellationToken ct = default) =>
        db.WriteAsync(async (conn, tx) =>
        {
            await conn.ExecuteAsync("UPDATE webhook_deliveries SET payload = @payload WHERE id = @id AND payload IS NULL", new { id, payload }, tx);
            return await conn.ExecuteScalarAsync<string>("SELECT payload FROM webhook_deliveries WHERE id = @id", new { id }, tx) ?? payload;
        }, ct);

    /// <summary>Records one attempt and what follows it; the body is kept from the first attempt on.</summary>
    public Task RecordAttemptAsync(WebhookDelivery d, string payload, AttemptOutcome outcome, CancellationToken ct = default) =>
        db.WriteAsync(async (conn, tx) =>
        {
            var a = outcome.Attempt;
            await conn.ExecuteAsync(
                "INSERT INTO webhook_attempts(delivery_id, attempt, at, status_code, latency_ms, error) VALUES (@DeliveryId, @Attempt, @At, @StatusCode, @LatencyMs, @Error) ON CONFLICT DO NOTHING",
                a, tx);
            return await conn.ExecuteAsync(
                """
                UPDATE webhook_deliveries SET attempts = @attempt, status = @status, next_attempt_at = @next, locked_until = NULL,
                       payload = COALESCE(payload, @payload), delivered_at = CASE WHEN @status = 'delivered' THEN @at ELSE delivered_at END
                WHERE id = @id
                """, new { id = d.Id, attempt = a.Attempt, status = outcome.Status, next = outcome.NextAttemptAt, payload, at = a.At }, tx);
        }, ct);

    /// <summary>The endpoint's deliveries, newest first, with their attempts (oldest first).</summary>
    public async Task<IReadOnlyList<(WebhookDelivery Delivery, IReadOnlyList<WebhookAttempt> Attempts)>> ListDeliveriesAsync(
        string endpointId, int limit, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        var deliveries = (await conn.QueryAsync<WebhookDelivery>(new CommandDefinition(
            $"SELECT {DeliveryColumns} FROM webhook_deliveries WHERE endpoint_id = @endpointId ORDER BY created_at DESC, id LIMIT @limit",
            new { endpointId, limit }, cancellationToken: ct))).ToList();
        if (deliveries.Count == 0) return [];
        var attempts = (await conn.QueryAsync<AttemptRow>(new CommandDefinition(
            """
            SELECT a.delivery_id, a.attempt, a.at, a.status_code, a.latency_ms, a.error FROM webhook_attempts a
            JOIN webhook_deliveries d ON d.id = a.delivery_id
            WHERE d.endpoint_id = @endpointId ORDER BY a.attempt
            """, new { endpointId }, cancellationToken: ct))).ToLookup(a => a.DeliveryId);
        return deliveries.Select(d => (d, (IReadOnlyList<WebhookAttempt>)attempts[d.Id]
            .Select(a => new WebhookAttempt(a.DeliveryId, a.Attempt, a.At, a.StatusCode, a.LatencyMs, a.Error)).ToList())).ToList();
    }

    /// <summary>
    /// "Send again": the delivery becomes due now with a fresh retry window, keeping its id and body (a receiver that
    /// already has it can tell). False when the endpoint has no such delivery.
    /// </summary>
    public Task<bool> ResendAsync(string endpointId, string deliveryId, double now, CancellationToken ct = default) =>
        db.WriteAsync(async (conn, tx) => await conn.ExecuteAsync(
            """
            UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = @now, window_start = @now, window_first_attempt = attempts + 1, locked_until = NULL
            WHERE id = @deliveryId AND endpoint_id = @endpointId
            """, new { endpointId, deliveryId, now }, tx) > 0, ct);

    private sealed class AttemptRow
    {
        public string DeliveryId { get; set; } = "";
        public long Attempt { get; set; }
        public double At { get; set; }
        public int? StatusCode { get; set; }
        public double LatencyMs { get; set; }
        public string? Error { get; set; }
    }
}
