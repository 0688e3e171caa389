using Agents.Micro.Storage.Tasks;

namespace Agents.Micro.Storage.Webhooks;

/// <summary>
/// The deliveries a task's transition owes, written in the transition's own transaction (an outbox): a crash right after
/// the commit cannot lose one, and a task nobody listens for costs one indexed lookup, no extra transaction. The
/// sender (TaskApi's <c>WebhookSender</c>) sends them later, so a slow receiver never slows a task.
/// </summary>
public static class WebhookOutbox
{
    /// <summary>The event a transition announces, or null (a hand-back announces nothing).</summary>
    public static string? EventOf(TaskTransition? transition) => transition switch
    {
        TaskTransition.Complete => WebhookEvents.Completed,
        TaskTransition.Fail => WebhookEvents.Failed,
        TaskTransition.Cancel => WebhookEvents.Cancelled,
        TaskTransition.Interrupt => WebhookEvents.Interrupted,
        _ => null,
    };

    /// <summary>
    /// An INSERT of one delivery per endpoint of the task's user that wants <paramref name="eventType"/>: all its tasks,
    /// or this one by name. <paramref name="source"/> is a query giving one row (id, public_id, user_id, webhook_id, idx): the task,
    /// the endpoint its request named (or NULL) and the index of the event announced; <paramref name="at"/> the time.
    /// </summary>
    public static string InsertSql(bool postgres, string eventType, string source, string at)
    {
        var newId = postgres ? "replace(gen_random_uuid()::text, '-', '')" : "lower(hex(randomblob(16)))";
        return $"""
            INSERT INTO webhook_deliveries(id, endpoint_id, user_id, task_id, public_task_id, event_type, event_idx, status, attempts, next_attempt_at, window_start, created_at)
            SELECT {newId}, e.id, s.user_id, s.id, s.public_id, '{eventType}', s.idx, 'pending', 0, {at}, {at}, {at}
            FROM ({source}) s JOIN webhook_endpoints e ON e.user_id = s.user_id
            WHERE e.events LIKE '% {eventType} %' AND (e.all_tasks OR e.id = s.webhook_id)
            ON CONFLICT DO NOTHING
            """;
    }

    /// <summary>The source row read from the tasks table itself, for transitions made by TaskApi (cancel, admin end).</summary>
    public static string TaskRowSource(bool postgres, string idParameter, string idxExpression) =>
        $"SELECT id, COALESCE(client_id, id) AS public_id, user_id, {WebhookIdOf(postgres, "options")} AS webhook_id, {idxExpression} AS idx FROM tasks WHERE id = {idParameter}";

    /// <summary>The endpoint a task's request named, read from its options.</summary>
    public static string WebhookIdOf(bool postgres, string optionsColumn) =>
        postgres ? $"{optionsColumn}->>'webhook_id'" : $"json_extract({optionsColumn}, '$.webhook_id')";

    public static IEnumerable<string> Schema() =>
    [
        """
        CREATE TABLE IF NOT EXISTS webhook_endpoints (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            events TEXT NOT NULL,
            all_tasks BOOLEAN NOT NULL,
            description TEXT NULL,
            created_at DOUBLE PRECISION NOT NULL)
        """,
        "CREATE UNIQUE INDEX IF NOT EXISTS ux_webhook_endpoints_user_url ON webhook_endpoints(user_id, url)",
        """
        CREATE TABLE IF NOT EXISTS webhook_deliveries (
            id TEXT PRIMARY KEY,
            endpoint_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            task_id TEXT NOT NULL,
            public_task_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            event_idx BIGINT NOT NULL,
            payload TEXT NULL,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at DOUBLE PRECISION NULL,
            locked_until DOUBLE PRECISION NULL,
            window_start DOUBLE PRECISION NOT NULL,
            window_first_attempt BIGINT NOT NULL DEFAULT 1,
            created_at DOUBLE PRECISION NOT NULL,
            delivered_at DOUBLE PRECISION NULL,
            UNIQUE (endpoint_id, task_id, event_idx))
        """,
        "CREATE INDEX IF NOT EXISTS ix_webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending'",
        "CREATE INDEX IF NOT EXISTS ix_webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, created_at)",
        """
        CREATE TABLE IF NOT EXISTS webhook_attempts (
            delivery_id TEXT NOT NULL,
            attempt BIGINT NOT NULL,
            at DOUBLE PRECISION NOT NULL,
            status_code INTEGER NULL,
            latency_ms DOUBLE PRECISION NOT NULL,
            error TEXT NULL,
            PRIMARY KEY (delivery_id, attempt))
        """,
    ];
}
