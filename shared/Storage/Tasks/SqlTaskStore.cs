using System.Globalization;
using System.Data.Common;
using System.Text;
using Agents.Micro.ServiceDefaults.Data;
using Dapper;
using Agents.Micro.Storage.Usage;
using Agents.Micro.Storage.Webhooks;
using Npgsql;

namespace Agents.Micro.Storage.Tasks;

/// <summary>
/// The task store on PostgreSQL (JSONB, row locks) or SQLite (one writer at a time), chosen by <see cref="SqlDatabase"/>.
/// The SQL is shared; where the dialects differ the differences are spelled out inline.
/// </summary>
public sealed class SqlTaskStore(SqlDatabase db) : ITaskStore
{
    static SqlTaskStore() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    private const string TaskColumns =
        "id, client_id, conversation_id, user_id, status, query, options, attempt, lease_owner, lease_expires_at, cancel_requested, error, result, interrupt, interrupt_id, resume, next_idx, created_at, updated_at, dispatched_at, claimed_at, finished_at, trace_parent, handbacks, queue_seq";

    private string TaskSelect => db.IsPostgres
        ? TaskColumns.Replace("options,", "options::text AS options,").Replace("result,", "result::text AS result,")
            .Replace("interrupt,", "interrupt::text AS interrupt,").Replace("resume,", "resume::text AS resume,")
        : TaskColumns;

    public async Task EnsureSchemaAsync(CancellationToken ct = default)
    {
        await CreateTablesAsync(ct);
        // Transitions write the webhook deliveries they owe in their own transaction: the tables are the task store's.
        await db.EnsureSchemaAsync("task_store", WebhookOutbox.Schema(), ct);
        // And the model calls' tokens they carry.
        await db.EnsureSchemaAsync("task_store", UsageStore.Schema(), ct);
        // Added after the first release: the W3C traceparent of the request that created the task, so that its
        // resume, cancel and retries link to the trace where it began. Additive; older rows keep NULL.
        await AddColumnIfMissingAsync("tasks", "trace_parent", "TEXT NULL", ct);
        // Added with per-user task ids: the id a client knows a task by, unique within its user. Rows from before keep
        // their (globally unique) id as it.
        await AddColumnIfMissingAsync("tasks", "client_id", "TEXT NULL", ct);
        // Added with graceful hand-backs not counting as failed attempts.
        await AddColumnIfMissingAsync("tasks", "handbacks", "BIGINT NOT NULL DEFAULT 0", ct);
        // Added with if_busy: a queued message's place in its conversation's queue.
        await AddColumnIfMissingAsync("tasks", "queue_seq", "BIGINT NULL", ct);
        // Rows without one (from before, or written by an older instance during a rolling upgrade, which lookups also
        // find by id) are given theirs at each start; the partial index makes that a no-op when there are none.
        await db.EnsureSchemaAsync("task_store",
        [
            "CREATE INDEX IF NOT EXISTS ix_tasks_without_client_id ON tasks(id) WHERE client_id IS NULL",
            "UPDATE tasks SET client_id = id WHERE client_id IS NULL",
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_tasks_user_client ON tasks(user_id, client_id)",
            // Retention takes the oldest ended tasks first.
            "CREATE INDEX IF NOT EXISTS ix_tasks_finished ON tasks(finished_at) WHERE finished_at IS NOT NULL",
            // A conversation's queue (if_busy), in arrival order; also how a user's queued messages are counted.
            "CREATE INDEX IF NOT EXISTS ix_tasks_queued ON tasks(user_id, conversation_id, queue_seq) WHERE status = 'queued'",
        ], ct);
    }

    private async Task AddColumnIfMissingAsync(string table, string column, string type, CancellationToken ct)
    {
        if (db.IsPostgres)
        {
            await db.EnsureSchemaAsync("task_store", [$"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {type}"], ct);
            return;
        }
        // SQLite has no ADD COLUMN IF NOT EXISTS: look first, and tolerate a concurrent initializer winning the race.
        await using (var conn = await db.OpenAsync(ct))
        {
            var present = await conn.ExecuteScalarAsync<long>(new CommandDefinition(
                $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = @column", new { column }, cancellationToken: ct));
            if (present > 0) return;
        }
        try
        {
            await db.EnsureSchemaAsync("task_store", [$"ALTER TABLE {table} ADD COLUMN {column} {type}"], ct);
        }
        catch (DbException ex) when (ex.Message.Contains("duplicate column", StringComparison.OrdinalIgnoreCase))
        {
        }
    }

    private Task CreateTablesAsync(CancellationToken ct)
    {
        var j = db.JsonType;
        return db.EnsureSchemaAsync("task_store",
        [
            """
            CREATE TABLE IF NOT EXISTS conversations (
                user_id TEXT NOT NULL,
                id TEXT NOT NULL,
                title TEXT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (user_id, id))
            """,
            "CREATE INDEX IF NOT EXISTS ix_conversations_user_updated ON conversations(user_id, updated_at)",
            $"""
            CREATE TABLE IF NOT EXISTS tasks (
                id TEXT PRIMARY KEY,
                conversation_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                status TEXT NOT NULL,
                query TEXT NOT NULL,
                options {j} NOT NULL,
                attempt BIGINT NOT NULL DEFAULT 0,
                lease_owner TEXT NULL,
                lease_expires_at DOUBLE PRECISION NULL,
                cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
                error TEXT NULL,
                result {j} NULL,
                interrupt {j} NULL,
                interrupt_id TEXT NULL,
                resume {j} NULL,
                next_idx BIGINT NOT NULL DEFAULT 0,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                dispatched_at DOUBLE PRECISION NULL,
                claimed_at DOUBLE PRECISION NULL,
                finished_at DOUBLE PRECISION NULL)
            """,
            // One active task per conversation, enforced by the database itself (atomic under any concurrency).
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_tasks_active_per_conversation ON tasks(user_id, conversation_id) WHERE status IN ('running', 'interrupted')",
            "CREATE INDEX IF NOT EXISTS ix_tasks_conversation ON tasks(user_id, conversation_id, created_at)",
            "CREATE INDEX IF NOT EXISTS ix_tasks_running ON tasks(status, lease_expires_at) WHERE status = 'running'",
            $"""
            CREATE TABLE IF NOT EXISTS task_events (
                task_id TEXT NOT NULL,
                idx BIGINT NOT NULL,
                type TEXT NOT NULL,
                data {j} NOT NULL,
                ts DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (task_id, idx))
            """,
            $"""
            CREATE TABLE IF NOT EXISTS task_checkpoints (
                task_id TEXT PRIMARY KEY,
                step BIGINT NOT NULL,
                state {j} NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL)
            """,
            $"""
            CREATE TABLE IF NOT EXISTS conversation_messages (
                user_id TEXT NOT NULL,
                conversation_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                task_id TEXT NOT NULL,
                role TEXT NOT NULL,
                content {j} NOT NULL,
                PRIMARY KEY (user_id, conversation_id, seq))
            """,
        ], ct);
    }

    public async Task<bool> CreateConversationAsync(Conversation c, CancellationToken ct = default)
    {
        try
        {
            await db.WriteAsync((conn, tx) => conn.ExecuteAsync(
                "INSERT INTO conversations(user_id, id, title, created_at, updated_at) VALUES (@UserId, @Id, @Title, @CreatedAt, @UpdatedAt)", c, tx), ct);
            return true;
        }
        catch (DbException ex) when (SqlDatabase.IsUniqueViolation(ex))
        {
            return false;
        }
    }

    public async Task<Conversation?> GetConversationAsync(string userId, string conversationId, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Conversation>(new CommandDefinition(
            "SELECT id, user_id, title, created_at, updated_at FROM conversations WHERE user_id = @u AND id = @id",
            new { u = userId, id = conversationId }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<Conversation>> ListConversationsAsync(string userId, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<Conversation>(new CommandDefinition(
            "SELECT id, user_id, title, created_at, updated_at FROM conversations WHERE user_id = @u ORDER BY updated_at DESC, id",
            new { u = userId }, cancellationToken: ct))).ToList();
    }

    /// <remarks>
    /// With <paramref name="ifBusy"/> enqueue, interrupt or rollback and a busy conversation, the task is stored
    /// <c>queued</c> behind the conversation's task (whose row is locked meanwhile, so that its end, which starts the
    /// queue's head, either waits for this send or is seen by it); interrupt and rollback also stop that task: at once
    /// if no live worker holds it (and the queue's head starts in this transaction), else by flagging it for its worker.
    /// </remarks>
    public async Task<CreateTaskResult> CreateTaskAsync(TaskRecord t, bool createConversation, int maxActivePerUser = int.MaxValue, CancellationToken ct = default,
        bool freshConversation = false, string? ifBusy = null)
    {
        t.ClientId ??= t.Id;
        try
        {
            return await db.WriteAsync(async (conn, tx) =>
            {
                if (maxActivePerUser < int.MaxValue)
                {
                    // Exact cap: sends of one user are serialised by a lock on that user (SQLite writers are serialised
                    // anyway), so two racing sends at the limit cannot both see room. Other users never wait on it.
                    if (db.IsPostgres)
                        await conn.ExecuteAsync($"SELECT pg_advisory_xact_lock({SqlDatabase.StableHash("active:" + t.UserId)})", transaction: tx);
                    // Counted up to the cap only: the work is bounded by the cap, not by how many tasks the user has queued.
                    if (await conn.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM ({ActiveRowsSql} LIMIT @cap) active",
                            new { u = t.UserId, cap = maxActivePerUser }, tx) >= maxActivePerUser)
                        return CreateTaskResult.TooManyActive;
                }
                long? inserted = null;
                if (createConversation || freshConversation)
                {
                    // The conversation joins the task's transaction: a refused task leaves no empty conversation behind.
                    inserted = await conn.ExecuteScalarAsync<long?>(
                        "INSERT INTO conversations(user_id, id, title, created_at, updated_at) VALUES (@UserId, @ConversationId, NULL, @CreatedAt, @CreatedAt) ON CONFLICT (user_id, id) DO NOTHING RETURNING 1",
                        t, tx);
                    if (inserted is null && freshConversation) return CreateTaskResult.ConversationExists;
                }
                // An existing conversation is only key-share locked before the task's insert (kept from being deleted):
                // that insert may wait for the conversation's previous task to end, and the transaction ending it
                // updates the conversation row, which a stronger lock taken here would block — a deadlock.
                if (inserted is null && await conn.ExecuteScalarAsync<long?>(
                        $"SELECT 1 FROM conversations WHERE user_id = @UserId AND id = @ConversationId{(db.IsPostgres ? " FOR KEY SHARE" : "")}", t, tx) is null)
                    return CreateTaskResult.ConversationNotFound;
                ActiveRow? busy = null;
                if (inserted is null && ifBusy is not null && ifBusy != IfBusy.Reject)
                {
                    busy = await conn.QuerySingleOrDefaultAsync<ActiveRow>(
                        $"""
                        SELECT id AS Id, status AS Status, lease_owner AS LeaseOwner, lease_expires_at AS LeaseExpiresAt FROM tasks
                        WHERE user_id = @UserId AND conversation_id = @ConversationId AND status IN ('running', 'interrupted'){(db.IsPostgres ? " FOR UPDATE" : "")}
                        """, t, tx);
                    if (busy is not null)
                    {
                        t.Status = TaskStatus.Queued;
                        t.DispatchedAt = null;
                        t.QueueSeq = await conn.ExecuteScalarAsync<long>(
                            "SELECT COALESCE(MAX(queue_seq), 0) + 1 FROM tasks WHERE user_id = @UserId AND conversation_id = @ConversationId AND status = 'queued'", t, tx);
                        if (ifBusy is IfBusy.Interrupt or IfBusy.Rollback)
                            t.Options = (TaskOptions.FromJson(t.Options) with { Supersedes = busy.Id }).ToJson();
                    }
                }
                // dispatched_at may be set by the caller before it sends the command (cleared again if the send fails).
                await conn.ExecuteAsync(
                    $"""
                    INSERT INTO tasks(id, client_id, conversation_id, user_id, status, query, options, attempt, next_idx, created_at, updated_at, dispatched_at, trace_parent, queue_seq)
                    VALUES (@Id, @ClientId, @ConversationId, @UserId, @Status, @Query, {db.Json("Options")}, 0, 0, @CreatedAt, @CreatedAt, @DispatchedAt, @TraceParent, @QueueSeq)
                    """, t, tx);
                if (inserted is null)
                    await conn.ExecuteAsync("UPDATE conversations SET updated_at = @CreatedAt WHERE user_id = @UserId AND id = @ConversationId", t, tx);
                if (busy is not null && ifBusy is IfBusy.Interrupt or IfBusy.Rollback)
                {
                    if (busy.Status == TaskStatus.Interrupted || busy.LeaseOwner is null || busy.LeaseExpiresAt < t.CreatedAt)
                    {
                        // Nobody is running it: stop it here, and the queue's head (this task, unless others were queued first) starts.
                        await CancelNowAsync(conn, tx, busy.Id, $"stopped by a newer message (if_busy={ifBusy})", t.CreatedAt);
                        if (await PromoteNextAsync(conn, tx, t.UserId, t.ConversationId, t.CreatedAt) == t.Id)
                        {
                            // The caller sends its command now: marked sent, as a new task is, so the sweep does not send it too.
                            (t.Status, t.DispatchedAt) = (TaskStatus.Running, t.CreatedAt);
                            await conn.ExecuteAsync("UPDATE tasks SET dispatched_at = @at WHERE id = @id", new { id = t.Id, at = t.CreatedAt }, tx);
                        }
                    }
                    else
                    {
                        // Its worker stops it at the next step (it reads the flag with every lease renewal); its end starts the queue.
                        await conn.ExecuteAsync("UPDATE tasks SET cancel_requested = TRUE, updated_at = @now WHERE id = @id", new { id = busy.Id, now = t.CreatedAt }, tx);
                    }
                }
                return CreateTaskResult.Created;
            }, ct);
        }
        catch (DbException ex) when (SqlDatabase.IsUniqueViolation(ex))
        {
            // Two unique keys can be violated: the user's client id, or the one-active-task-per-conversation index.
            return await FindTaskAsync(t.UserId, t.ClientId, ct) is not null ? CreateTaskResult.DuplicateTaskId : CreateTaskResult.ConversationBusy;
        }
    }

    // Each term is the exact predicate of a partial index (ux_tasks_active_per_conversation, ix_tasks_queued), which
    // lets SQLite (whose planner matches partial-index predicates textually) and PostgreSQL answer from those indexes.
    private const string ActiveRowsSql =
        "SELECT 1 AS one FROM tasks WHERE user_id = @u AND status IN ('running', 'interrupted') UNION ALL SELECT 1 FROM tasks WHERE user_id = @u AND status = 'queued'";

    public async Task<long> CountActiveAsync(string userId, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM ({ActiveRowsSql}) active", new { u = userId }, cancellationToken: ct));
    }

    public async Task<TaskRecord?> FindTaskAsync(string userId, string clientId, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<TaskRecord>(new CommandDefinition(
            $"SELECT {TaskSelect} FROM tasks WHERE user_id = @u AND (client_id = @c OR (client_id IS NULL AND id = @c)) ORDER BY client_id IS NULL LIMIT 1",
            new { u = userId, c = clientId }, cancellationToken: ct));
    }

    public async Task<TaskRecord?> GetTaskAsync(string taskId, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<TaskRecord>(new CommandDefinition(
            $"SELECT {TaskSelect} FROM tasks WHERE id = @id", new { id = taskId }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<TaskRecord>> ListTasksAsync(string userId, string conversationId, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<TaskRecord>(new CommandDefinition(
            $"SELECT {TaskSelect} FROM tasks WHERE user_id = @u AND conversation_id = @c ORDER BY created_at, id",
            new { u = userId, c = conversationId }, cancellationToken: ct))).ToList();
    }

    public async Task<IReadOnlyList<StoredEvent>> ReadEventsAsync(string taskId, long from, int limit, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<StoredEvent>(new CommandDefinition(
            $"SELECT idx, type, {db.JsonText("data")} AS data, ts FROM task_events WHERE task_id = @t AND idx >= @f ORDER BY idx LIMIT @l",
            new { t = taskId, f = from, l = limit }, cancellationToken: ct))).ToList();
    }

    public async Task<IReadOnlyDictionary<string, TaskProgress>> GetProgressAsync(IReadOnlyCollection<string> taskIds, CancellationToken ct = default)
    {
        var found = new Dictionary<string, TaskProgress>(StringComparer.Ordinal);
        if (taskIds.Count == 0) return found;
        await using var conn = await db.OpenAsync(ct);
        // 500 ids a statement keeps the parameter list well below SQLite's and PostgreSQL's limits.
        foreach (var chunk in taskIds.Chunk(500))
        {
            // Npgsql takes the array as one parameter; for SQLite Dapper expands the list into (@ids1, @ids2, …).
            var rows = await conn.QueryAsync<TaskProgress>(new CommandDefinition(
                "SELECT id AS Id, next_idx AS NextIdx, status AS Status FROM tasks WHERE id " + (db.IsPostgres ? "= ANY(@ids)" : "IN @ids"),
                new { ids = chunk }, cancellationToken: ct));
            foreach (var r in rows) found[r.Id] = r;
        }
        return found;
    }

    public Task MarkDispatchedAsync(string taskId, double? at, CancellationToken ct = default) =>
        db.WriteAsync((conn, tx) => conn.ExecuteAsync(
            "UPDATE tasks SET dispatched_at = @at WHERE id = @id AND status = 'running'", new { id = taskId, at }, tx), ct);

    public async Task<IReadOnlyList<TaskRecord>> FindStrandedAsync(double now, double dispatchedBefore, int limit, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<TaskRecord>(new CommandDefinition(
            $"""
            SELECT {TaskSelect} FROM tasks
            WHERE status = 'running'
              AND ((lease_owner IS NULL AND (dispatched_at IS NULL OR dispatched_at < @before))
                   OR (lease_owner IS NOT NULL AND lease_expires_at < @now))
            ORDER BY created_at LIMIT @limit
            """, new { now, before = dispatchedBefore, limit }, cancellationToken: ct))).ToList();
    }

    public async Task<TaskRecord?> TryClaimAsync(string taskId, string owner, double leaseUntil, double now, CancellationToken ct = default) =>
        await db.WriteAsync((conn, tx) => conn.QuerySingleOrDefaultAsync<TaskRecord>(
            $"""
            UPDATE tasks SET attempt = attempt + 1, lease_owner = @owner, lease_expires_at = @until,
                   claimed_at = COALESCE(claimed_at, @now), updated_at = @now
            WHERE id = @id AND status = 'running' AND (lease_owner IS NULL OR lease_expires_at < @now)
            RETURNING {TaskSelect}
            """, new { id = taskId, owner, until = leaseUntil, now }, tx), ct);

    // Users' held leases and the tasks that could be claimed now. Both read only running rows (ix_tasks_running).
    // {0}: more conditions.
    private const string CandidatesTemplate =
        """
        WITH held AS (
            SELECT user_id, COUNT(*) AS n FROM tasks
            WHERE status = 'running' AND lease_owner IS NOT NULL AND lease_expires_at >= @now
            GROUP BY user_id)
        SELECT t.id AS Id, t.user_id AS UserId FROM tasks t LEFT JOIN held h ON h.user_id = t.user_id
        WHERE t.status = 'running' AND (t.lease_owner IS NULL OR t.lease_expires_at < @now) AND COALESCE(h.n, 0) < @max{0}
        ORDER BY COALESCE(h.n, 0), CASE WHEN t.id = @pref THEN 0 ELSE 1 END, t.created_at, t.id
        LIMIT @limit
        """;

    private static readonly string Candidates = string.Format(CultureInfo.InvariantCulture, CandidatesTemplate, "");
    private static readonly string PgCandidatesForClaim = string.Format(CultureInfo.InvariantCulture, CandidatesTemplate,
        " AND NOT (t.user_id = ANY(@skip))");

    private sealed record Candidate(string Id, string UserId);

    public async Task<TaskRecord?> ClaimNextAsync(string? preferredTaskId, string owner, double leaseSeconds, int maxRunningPerUser, CancellationToken ct = default) =>
        (await ClaimRunAsync(preferredTaskId, owner, leaseSeconds, maxRunningPerUser, new ClaimRequest(), ct))?.Task;

    public Task<ClaimedRun?> ClaimRunAsync(string? preferredTaskId, string owner, double leaseSeconds, int maxRunningPerUser, ClaimRequest request,
        CancellationToken ct = default) =>
        db.WriteAsync<ClaimedRun?>(async (conn, tx) =>
        {
            // PostgreSQL: the pick takes its user's lock, waited for at most a second — a worker frozen mid-claim
            // (SIGSTOP) holds up no other user, and that user only briefly — and the user's leases are counted again
            // under it, so no user ever exceeds the limit; the conditional update makes sure two claims never take one
            // task. (No SKIP LOCKED on the pick: it would also skip a row that an unrelated write — TaskApi marking it
            // dispatched — has locked for a moment, and drop the turn.) SQLite: writers are serialised anyway. A pick
            // that fails (its user busy or full, or another claim or a cancel took the task first) is followed by the
            // next one rather than dropping this turn.
            var skip = new List<string>();
            for (var tries = 0; tries < 8; tries++)
            {
                // Read after any wait: the lease starts now, not when the turn arrived.
                var now = UnixTime.Now();
                Candidate? pick;
                if (db.IsPostgres)
                {
                    pick = await conn.QuerySingleOrDefaultAsync<Candidate>(PgCandidatesForClaim,
                        new { now, max = maxRunningPerUser, pref = preferredTaskId ?? "", skip = skip.ToArray(), limit = 1 }, tx);
                    if (pick is null) return null;
                    // Another claim for this user holds the lock for milliseconds; a frozen one for as long as it is
                    // frozen. Wait (in the server, woken the moment it is free) up to a second for it, then leave this
                    // user's tasks to other turns: the savepoint undoes just the failed wait.
                    var locked = true;
                    try
                    {
                        // The timeout is for this wait only: the rest of the claim waits for row locks as usual.
                        await conn.ExecuteAsync(
                            "SAVEPOINT user_lock; SET LOCAL lock_timeout = '1s'; SELECT pg_advisory_xact_lock(@k); SET LOCAL lock_timeout TO DEFAULT; RELEASE SAVEPOINT user_lock",
                            new { k = SqlDatabase.StableHash("claim:" + pick.UserId) }, tx);
                    }
                    catch (Npgsql.PostgresException ex) when (ex.SqlState == Npgsql.PostgresErrorCodes.LockNotAvailable)
                    {
                        await conn.ExecuteAsync("ROLLBACK TO SAVEPOINT user_lock", transaction: tx);
                        locked = false;
                    }
                    if (!locked || await conn.ExecuteScalarAsync<long>(
                            "SELECT COUNT(*) FROM tasks WHERE status = 'running' AND user_id = @u AND lease_owner IS NOT NULL AND lease_expires_at >= @now",
                            new { u = pick.UserId, now }, tx) >= maxRunningPerUser)
                    {
                        skip.Add(pick.UserId);
                        continue;
                    }
                }
                else
                {
                    pick = await conn.QuerySingleOrDefaultAsync<Candidate>(Candidates, new { now, max = maxRunningPerUser, pref = preferredTaskId ?? "", limit = 1 }, tx);
                    if (pick is null) return null;
                }
                var claimed = await conn.QuerySingleOrDefaultAsync<TaskRecord>(
                    $"""
                    UPDATE tasks SET attempt = attempt + 1, lease_owner = @owner, lease_expires_at = @until,
                           claimed_at = COALESCE(claimed_at, @now), updated_at = @now
                    WHERE id = @id AND status = 'running' AND (lease_owner IS NULL OR lease_expires_at < @now)
                    RETURNING {TaskSelect}
                    """, new { id = pick.Id, owner, until = now + leaseSeconds, now }, tx);
                if (claimed is not null) return await BeginRunAsync(conn, tx, claimed, request);
            }
            return null;
        }, ct);

    /// <summary>The reads (and the first start's append) that begin a claimed run, in the claim's transaction.</summary>
    private async Task<ClaimedRun> BeginRunAsync(DbConnection conn, DbTransaction tx, TaskRecord task, ClaimRequest request)
    {
        var row = await conn.QuerySingleOrDefaultAsync<(long Step, string State)?>(
            $"SELECT step, {db.JsonText("state")} AS state FROM task_checkpoints WHERE task_id = @t", new { t = task.Id }, tx);
        (long, string)? checkpoint = row is { } r ? (r.Step, r.State) : null;
        if (checkpoint is not null) return new ClaimedRun(task, checkpoint, [], false);
        // The first start: nothing in the log, or only an operator's admin_action before this first attempt (graceful
        // hand-backs do not count as attempts). Otherwise an earlier attempt died between task_started and its first checkpoint.
        var first = task.NextIdx == 0 || task.Attempt - task.Handbacks == 1 && !await conn.ExecuteScalarAsync<bool>(
            $"SELECT EXISTS (SELECT 1 FROM task_events WHERE task_id = @t AND type <> '{EventTypes.AdminAction}')", new { t = task.Id }, tx);
        var started = false;
        if (first && request.StartedEvent is { } make)
        {
            var e = make(task);
            task.NextIdx = await conn.ExecuteScalarAsync<long>(
                "UPDATE tasks SET next_idx = next_idx + 1 WHERE id = @id RETURNING next_idx", new { id = task.Id }, tx);
            await InsertEventsAsync(conn, tx, task.Id, task.NextIdx - 1, [e]);
            started = true;
        }
        IReadOnlyList<HistoryMessage> history = request.HistoryMaxMessages <= 0 ? [] : (await conn.QueryAsync<HistoryMessage>(
            HistorySql,
            new { u = task.UserId, c = task.ConversationId, l = request.HistoryMaxMessages }, tx)).Reverse().ToList();
        return new ClaimedRun(task, null, history, started);
    }

    public async Task<(string Id, string UserId)?> PeekNextAsync(double now, int maxRunningPerUser, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        var pick = await conn.QuerySingleOrDefaultAsync<Candidate>(new CommandDefinition(Candidates,
            new { now, max = maxRunningPerUser, pref = "", limit = 1 }, cancellationToken: ct));
        return pick is null ? null : (pick.Id, pick.UserId);
    }

    public async Task<long?> QueuePositionAsync(TaskRecord task, double now, CancellationToken ct = default)
    {
        if (task.Status == TaskStatus.Queued)
        {
            // Queued behind its conversation's task (if_busy): 1 = it starts when that task ends.
            await using var c = await db.OpenAsync(ct);
            return await c.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM tasks WHERE user_id = @u AND conversation_id = @c AND status = 'queued' AND queue_seq <= @seq",
                new { u = task.UserId, c = task.ConversationId, seq = task.QueueSeq ?? 0 }, cancellationToken: ct));
        }
        if (task.Status != TaskStatus.Running || (task.LeaseOwner is not null && task.LeaseExpiresAt >= now)) return null;
        await using var conn = await db.OpenAsync(ct);
        // Each waiting task's turn is its rank among its user's waiting tasks; ties go to the older task.
        var position = await conn.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            WITH waiting AS (
                SELECT id, created_at, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at, id) AS turn FROM tasks
                WHERE status = 'running' AND (lease_owner IS NULL OR lease_expires_at < @now)),
            me AS (SELECT turn, created_at, id FROM waiting WHERE id = @id)
            SELECT COUNT(*) FROM waiting w, me
            WHERE w.turn < me.turn OR (w.turn = me.turn AND (w.created_at < me.created_at OR (w.created_at = me.created_at AND w.id <= me.id)))
            """, new { id = task.Id, now }, cancellationToken: ct));
        return position > 0 ? position : null; // 0: claimed or ended since the row was read
    }

    public async Task<IReadOnlyList<(string TaskId, bool CancelRequested)>> RenewLeasesAsync(string owner, IReadOnlyCollection<string> taskIds,
        double leaseUntil, CancellationToken ct = default)
    {
        if (taskIds.Count == 0) return [];
        // PostgreSQL takes the ids as one array; for SQLite Dapper expands the list into parameters.
        var ids = db.IsPostgres ? "id = ANY(@ids)" : "id IN @ids";
        var rows = await db.WriteAsync(async (conn, tx) =>
        {
            // One row locked elsewhere (a slow commit, a frozen caller) must not hold up all of this worker's leases:
            // give up after a second; the next beat tries again, well within the lease.
            if (db.IsPostgres) await conn.ExecuteAsync("SET LOCAL lock_timeout = '1s'", transaction: tx);
            // Rows are locked in id order, the order group commits lock them in: the two never deadlock.
            var locked = db.IsPostgres
                ? $"id IN (SELECT id FROM tasks WHERE lease_owner = @owner AND status = 'running' AND {ids} ORDER BY id FOR UPDATE)"
                : ids;
            return await conn.QueryAsync<(string, bool)>(
            $"""
            UPDATE tasks SET lease_expires_at = @until
            WHERE lease_owner = @owner AND status = 'running' AND {locked}
            RETURNING id, cancel_requested
            """, new { owner, until = leaseUntil, ids = taskIds.ToArray() }, tx);
        }, ct);
        return rows.ToList();
    }

    public async Task<bool?> RenewLeaseAsync(TaskLease lease, double leaseUntil, CancellationToken ct = default)
    {
        var row = await db.WriteAsync((conn, tx) => conn.QuerySingleOrDefaultAsync<bool?>(
            """
            UPDATE tasks SET lease_expires_at = @until
            WHERE id = @id AND attempt = @a AND lease_owner = @o AND status = 'running'
            RETURNING cancel_requested
            """, new { id = lease.TaskId, a = lease.Attempt, o = lease.Owner, until = leaseUntil }, tx), ct);
        return row;
    }

    public async Task<long> CommitAsync(TaskLease lease, IReadOnlyList<NewEvent> events, TaskTransition? transition = null,
        (long Step, string StateJson)? checkpoint = null, IReadOnlyList<HistoryMessage>? history = null, CancellationToken ct = default,
        long? expectedNextIdx = null)
    {
        return await this.CommitOneAsync(new CommitRequest(lease, events, transition, checkpoint, history, expectedNextIdx), ct);
    }

    public async Task<CommitBatchResult> CommitManyAsync(IReadOnlyList<CommitRequest> requests, int turns = 0, int maxRunningPerUser = int.MaxValue,
        CancellationToken ct = default)
    {
        if (requests.Count == 0) return new CommitBatchResult([], []);
        try
        {
            return db.IsPostgres ? await PgCommitManyAsync(requests, turns, maxRunningPerUser, ct) : await SqliteCommitManyAsync(requests, turns, maxRunningPerUser, ct);
        }
        catch (DbException ex) when (requests.Count > 1 && (IsRefusedData(ex) || IsTransient(ex)))
        {
            // One request's data was refused, or the transaction lost a deadlock or a lock wait (either way it rolled back
            // and nothing was written): commit each on its own, so the others land and only that one learns why.
            var outcomes = new List<(long, Exception?)>();
            var found = new List<(string, string)>();
            foreach (var r in requests)
            {
                try
                {
                    var one = await CommitManyAsync([r], r.FreesSlot ? turns : 0, maxRunningPerUser, ct);
                    outcomes.Add(one.Outcomes[0]);
                    found.AddRange(one.Turns.Where(t => !found.Contains(t)));
                }
                catch (DbException each) when (IsRefusedData(each) || IsTransient(each))
                {
                    outcomes.Add((0, each));
                }
            }
            return new CommitBatchResult(outcomes, found.Take(turns).ToList());
        }
    }

    /// <summary>SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation): the data, not the server.</summary>
    private static bool IsRefusedData(DbException ex) => ex switch
    {
        Npgsql.PostgresException pg => pg.SqlState.StartsWith("22", StringComparison.Ordinal) || pg.SqlState.StartsWith("23", StringComparison.Ordinal),
        Microsoft.Data.Sqlite.SqliteException sq => sq.SqliteErrorCode == 19,
        _ => false,
    };

    /// <summary>A transaction that lost to another (deadlock, serialization, a lock or statement timeout): it rolled back whole.</summary>
    private static bool IsTransient(DbException ex) =>
        ex is Npgsql.PostgresException { SqlState: "40P01" or "40001" or "55P03" or "57014" };

    /// <summary>
    /// The columns a step sets: the log's new end and its transition. Both dialects' commits use it; they differ only
    /// in how a value becomes a parameter (<paramref name="param"/>: its placeholder) and in how JSON text is stored
    /// (<paramref name="json"/> wraps a placeholder).
    /// </summary>
    private static string TransitionSet(TaskTransition? transition, string n, string at, Func<object?, string> param, Func<string, string> json)
    {
        const string release = ", lease_owner = NULL, lease_expires_at = NULL";
        var set = new StringBuilder($"next_idx = next_idx + {n}, updated_at = {at}");
        switch (transition)
        {
            case TaskTransition.Complete c:
                set.Append($", status = 'completed', result = {json(param(SqlDatabase.StorableJson(c.ResultJson)))}, finished_at = {at}{release}");
                break;
            case TaskTransition.Fail f:
                set.Append($", status = 'error', error = {param(f.Error)}, finished_at = {at}{release}");
                break;
            case TaskTransition.Cancel:
                set.Append($", status = 'cancelled', finished_at = {at}{release}");
                break;
            case TaskTransition.Interrupt i:
                set.Append($", status = 'interrupted', interrupt = {json(param(SqlDatabase.StorableJson(i.InterruptJson)))}, interrupt_id = {param(i.InterruptId)}, resume = NULL{release}");
                break;
            case TaskTransition.Release r:
                set.Append($"{release}, dispatched_at = NULL");
                if (r.Graceful) set.Append(", handbacks = handbacks + 1");
                break;
        }
        return set.ToString();
    }

    /// <summary>
    /// PostgreSQL: one statement per request — the fenced update of the task row, and, only when it matched, its events,
    /// checkpoint and history through data-modifying CTEs — sent as one <see cref="NpgsqlBatch"/> (one round trip), in
    /// one transaction. Each statement's text depends only on the request's shape (which parts it has, which transition),
    /// not on the batch, so the server and the driver see a few dozen distinct statements however batches are made up.
    /// Requests go in task-id order, the order <see cref="RenewLeasesAsync"/> locks rows in, so the two never deadlock.
    /// </summary>
    private Task<CommitBatchResult> PgCommitManyAsync(IReadOnlyList<CommitRequest> requests, int turns, int maxRunningPerUser, CancellationToken ct)
    {
        var now = UnixTime.Now();
        var order = Enumerable.Range(0, requests.Count).OrderBy(i => requests[i].Lease.TaskId, StringComparer.Ordinal).ToList();
        var wantTurns = turns > 0 && requests.Any(r => r.FreesSlot);
        return db.WriteAsync(async (conn, tx) =>
        {
            await using var batch = new NpgsqlBatch((NpgsqlConnection)conn, (NpgsqlTransaction)tx);
            foreach (var i in order)
            {
                batch.BatchCommands.Add(PgCommitCommand(requests[i], now));
                if (EndsTask(requests[i]))
                {
                    var promote = new NpgsqlBatchCommand(PgPromoteNext);
                    promote.Parameters.Add(new NpgsqlParameter { Value = requests[i].Lease.TaskId });
                    promote.Parameters.Add(new NpgsqlParameter { Value = now });
                    batch.BatchCommands.Add(promote);
                }
            }
            if (wantTurns)
            {
                var candidates = new NpgsqlBatchCommand(PgTurnCandidates);
                candidates.Parameters.Add(new NpgsqlParameter { Value = now });
                candidates.Parameters.Add(new NpgsqlParameter { Value = maxRunningPerUser });
                candidates.Parameters.Add(new NpgsqlParameter { Value = turns });
                batch.BatchCommands.Add(candidates);
            }
            var outcomes = new (long, Exception?)[requests.Count];
            var found = new List<(string, string)>();
            await using (var reader = await batch.ExecuteReaderAsync(ct))
            {
                foreach (var i in order)
                {
                    (int K, long N)? row = await reader.ReadAsync(ct) ? (reader.GetInt32(0), reader.GetInt64(1)) : null;
                    outcomes[i] = Outcome(requests[i], row);
                    await reader.NextResultAsync(ct);
                    if (EndsTask(requests[i])) await reader.NextResultAsync(ct);
                }
                if (wantTurns)
                    while (await reader.ReadAsync(ct)) found.Add((reader.GetString(0), reader.GetString(1)));
            }
            return new CommitBatchResult(outcomes, found);
        }, ct);
    }

    /// <summary>
    /// A task asked to stop (a user's cancel, an if_busy interrupt) must not instead start waiting for a human: its
    /// interrupt is refused as a lost lease (nothing is written), the lease runs out, and whoever claims it next sees the
    /// flag and cancels it, which starts the conversation's queue.
    /// </summary>
    private static string StopUnlessCancelled(CommitRequest r) => r.Transition is TaskTransition.Interrupt ? " AND NOT cancel_requested" : "";

    /// <summary>The step ends the task, which frees its conversation for the next queued message.</summary>
    private static bool EndsTask(CommitRequest r) => r.Transition is TaskTransition.Complete or TaskTransition.Fail or TaskTransition.Cancel;

    /// <summary>The scheduler's candidates ($1 now, $2 the per-user limit, $3 how many), for the turns a batch passes on.</summary>
    private static readonly string PgTurnCandidates = string.Format(CultureInfo.InvariantCulture, CandidatesTemplate, "")
        .Replace("@now", "$1").Replace("@max", "$2").Replace("@pref", "''").Replace("@limit", "$3");

    /// <summary>One request of a PostgreSQL group commit: positional parameters, its text fixed by its shape.</summary>
    private static NpgsqlBatchCommand PgCommitCommand(CommitRequest r, double now)
    {
        var cmd = new NpgsqlBatchCommand();
        string P(object? value)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
            return "$" + cmd.Parameters.Count;
        }
        var id = P(r.Lease.TaskId);
        var fence = $"id = {id} AND attempt = {P(r.Lease.Attempt)} AND lease_owner = {P(r.Lease.Owner)} AND status = 'running'";
        var n = P((long)r.Events.Count);
        var at = P(now);
        var set = TransitionSet(r.Transition, n, at, P, x => x + "::jsonb");
        var expected = (r.ExpectedNextIdx is { } exp ? $" AND next_idx = {P(exp)}" : "") + StopUnlessCancelled(r);
        var sql = new StringBuilder($"WITH u AS (UPDATE tasks SET {set} WHERE {fence}{expected} RETURNING id, client_id, user_id, conversation_id, next_idx, options)");
        if (r.Events.Count > 0)
        {
            sql.Append($"""
                , e AS (INSERT INTO task_events(task_id, idx, type, data, ts)
                  SELECT u.id, u.next_idx - {n} + x.ord - 1, x.type, x.data::jsonb, x.ts
                  FROM u, unnest({P(r.Events.Select(e => e.Type).ToArray())}::text[], {P(r.Events.Select(e => SqlDatabase.StorableJson(e.DataJson)).ToArray())}::text[],
                                 {P(r.Events.Select(e => e.Ts).ToArray())}::float8[]) WITH ORDINALITY AS x(type, data, ts, ord))
                """);
        }
        if (r.Checkpoint is { } cp)
        {
            sql.Append($"""
                , c AS (INSERT INTO task_checkpoints(task_id, step, state, updated_at) SELECT u.id, {P(cp.Step)}, {P(SqlDatabase.StorableJson(cp.StateJson))}::jsonb, {at} FROM u
                  ON CONFLICT (task_id) DO UPDATE SET step = excluded.step, state = excluded.state, updated_at = excluded.updated_at)
                """);
        }
        if (r.History is { Count: > 0 } history)
        {
            // One active task per conversation: nobody else appends to this history meanwhile.
            sql.Append($"""
                , h AS (INSERT INTO conversation_messages(user_id, conversation_id, seq, task_id, role, content)
                  SELECT u.user_id, u.conversation_id,
                         COALESCE((SELECT MAX(m.seq) FROM conversation_messages m WHERE m.user_id = u.user_id AND m.conversation_id = u.conversation_id), -1) + x.ord,
                         u.id, x.role, x.content::jsonb
                  FROM u, unnest({P(history.Select(h => h.Role).ToArray())}::text[], {P(history.Select(h => SqlDatabase.StorableJson(h.Content)).ToArray())}::text[]) WITH ORDINALITY AS x(role, content, ord))
                , v AS (UPDATE conversations cv SET updated_at = {at} FROM u WHERE cv.user_id = u.user_id AND cv.id = u.conversation_id)
                """);
        }
        if (r.Usage is { Count: > 0 } usage)
        {
            sql.Append($"""
                , mu AS (INSERT INTO model_usage(task_id, user_id, conversation_id, model, at, input_tokens, output_tokens, reasoning_tokens)
                  SELECT u.id, u.user_id, u.conversation_id, x.model, x.at, x.i, x.o, x.r
                  FROM u, unnest({P(usage.Select(m => m.Model).ToArray())}::text[], {P(usage.Select(m => m.At).ToArray())}::float8[],
                                 {P(usage.Select(m => (long)m.InputTokens).ToArray())}::int8[], {P(usage.Select(m => (long)m.OutputTokens).ToArray())}::int8[],
                                 {P(usage.Select(m => (long)m.ReasoningTokens).ToArray())}::int8[]) AS x(model, at, i, o, r))
                """);
        }
        if (WebhookOutbox.EventOf(r.Transition) is { } hook)
            sql.Append($", w AS ({WebhookOutbox.InsertSql(true, hook, $"SELECT id, COALESCE(client_id, id) AS public_id, user_id, {WebhookOutbox.WebhookIdOf(true, "options")} AS webhook_id, next_idx - 1 AS idx FROM u", at)})");
        // Matched: where the log ends now. Not matched: where it ends if the lease is still this attempt's (the
        // statement's snapshot is from before it, and it changed nothing), else no row.
        sql.Append($" SELECT 0 AS k, next_idx AS n FROM u UNION ALL SELECT 1, next_idx FROM tasks WHERE NOT EXISTS (SELECT 1 FROM u) AND {fence}");
        cmd.CommandText = sql.ToString();
        return cmd;
    }

    private static (long, Exception?) Outcome(CommitRequest r, (int K, long N)? row) => row switch
    {
        { K: 0 } matched => (matched.N, null),
        // The log is where this commit expected it, so the fence failed on the lease (taken over while the statement
        // waited for the row, which its snapshot does not show): lost.
        { } held when r.ExpectedNextIdx is { } exp && held.N != exp => (0, new LogMovedException(r.Lease.TaskId, held.N)),
        _ => (0, new LeaseLostException(r.Lease.TaskId)),
    };

    /// <summary>SQLite: the same steps as statements in one transaction (in process: no round trips to save, one commit for all).</summary>
    private Task<CommitBatchResult> SqliteCommitManyAsync(IReadOnlyList<CommitRequest> requests, int turns, int maxRunningPerUser, CancellationToken ct) =>
        db.WriteAsync(async (conn, tx) =>
        {
            var now = UnixTime.Now();
            var outcomes = new List<(long, Exception?)>();
            foreach (var r in requests)
            {
                var p = new DynamicParameters(new { id = r.Lease.TaskId, a = r.Lease.Attempt, o = r.Lease.Owner, n = (long)r.Events.Count, now });
                var expected = (r.ExpectedNextIdx is null ? "" : " AND next_idx = @exp") + StopUnlessCancelled(r);
                if (r.ExpectedNextIdx is { } exp) p.Add("exp", exp);
                const string fence = "id = @id AND attempt = @a AND lease_owner = @o AND status = 'running'";
                var k = 0;
                string Param(object? value)
                {
                    p.Add("t" + ++k, value);
                    return "@t" + k;
                }
                var row = await conn.QuerySingleOrDefaultAsync<CommittedRow>(
                    $"UPDATE tasks SET {TransitionSet(r.Transition, "@n", "@now", Param, x => x)} WHERE {fence}{expected} RETURNING next_idx AS NextIdx, user_id AS UserId, conversation_id AS ConversationId, options AS Options, COALESCE(client_id, id) AS PublicId", p, tx);
                if (row is null)
                {
                    var held = await conn.QuerySingleOrDefaultAsync<long?>($"SELECT next_idx FROM tasks WHERE {fence}", p, tx);
                    outcomes.Add(Outcome(r, held is { } at ? (1, at) : null));
                    continue;
                }
                await InsertEventsAsync(conn, tx, r.Lease.TaskId, row.NextIdx - r.Events.Count, r.Events);
                foreach (var m in r.Usage ?? [])
                    await conn.ExecuteAsync(
                        """
                        INSERT INTO model_usage(task_id, user_id, conversation_id, model, at, input_tokens, output_tokens, reasoning_tokens)
                        VALUES (@t, @u, @c, @m, @at, @i, @o, @r)
                        """, new { t = r.Lease.TaskId, u = row.UserId, c = row.ConversationId, m = m.Model, at = m.At, i = m.InputTokens, o = m.OutputTokens, r = m.ReasoningTokens }, tx);
                if (WebhookOutbox.EventOf(r.Transition) is { } hook)
                    await conn.ExecuteAsync(WebhookOutbox.InsertSql(false, hook,
                        $"SELECT @id AS id, @pid AS public_id, @u AS user_id, {WebhookOutbox.WebhookIdOf(false, "@o")} AS webhook_id, @idx AS idx", "@now"),
                        new { id = r.Lease.TaskId, pid = row.PublicId, u = row.UserId, o = row.Options, idx = row.NextIdx - 1, now }, tx);
                if (r.Checkpoint is { } cp)
                {
                    await conn.ExecuteAsync(
                        """
                        INSERT INTO task_checkpoints(task_id, step, state, updated_at) VALUES (@t, @s, @st, @now)
                        ON CONFLICT (task_id) DO UPDATE SET step = excluded.step, state = excluded.state, updated_at = excluded.updated_at
                        """, new { t = r.Lease.TaskId, s = cp.Step, st = SqlDatabase.StorableJson(cp.StateJson), now }, tx);
                }
                if (r.History is { Count: > 0 } history)
                {
                    var seq = await conn.ExecuteScalarAsync<long>(
                        "SELECT COALESCE(MAX(seq), -1) + 1 FROM conversation_messages WHERE user_id = @u AND conversation_id = @c",
                        new { u = row.UserId, c = row.ConversationId }, tx);
                    await InsertHistoryAsync(conn, tx, row, r.Lease.TaskId, seq, history);
                    await conn.ExecuteAsync("UPDATE conversations SET updated_at = @now WHERE user_id = @u AND id = @c",
                        new { now, u = row.UserId, c = row.ConversationId }, tx);
                }
                // After the history: a rollback queued behind this task removes what it wrote there.
                if (EndsTask(r)) await PromoteNextAsync(conn, tx, row.UserId, row.ConversationId, now);
                outcomes.Add((row.NextIdx, null));
            }
            IReadOnlyList<(string, string)> found = [];
            if (turns > 0 && requests.Any(r => r.FreesSlot))
                found = (await conn.QueryAsync<Candidate>(Candidates, new { now, max = maxRunningPerUser, pref = "", limit = turns }, tx))
                    .Select(c => (c.Id, c.UserId)).ToList();
            return new CommitBatchResult(outcomes, found);
        }, ct);

    private sealed record CommittedRow(long NextIdx, string UserId, string ConversationId, string Options, string PublicId);

    /// <summary>A turn's history rows in multi-row inserts (100 a statement), numbered on from <paramref name="firstSeq"/>.</summary>
    private async Task InsertHistoryAsync(DbConnection conn, DbTransaction tx, CommittedRow owner, string taskId, long firstSeq, IReadOnlyList<HistoryMessage> history)
    {
        for (var offset = 0; offset < history.Count; offset += 100)
        {
            var n = Math.Min(100, history.Count - offset);
            var sql = new StringBuilder("INSERT INTO conversation_messages(user_id, conversation_id, seq, task_id, role, content) VALUES ");
            var p = new DynamicParameters(new { u = owner.UserId, c = owner.ConversationId, t = taskId });
            for (var i = 0; i < n; i++)
            {
                if (i > 0) sql.Append(',');
                sql.Append($"(@u, @c, @s{i}, @t, @r{i}, {db.Json("m" + i)})");
                p.Add("s" + i, firstSeq + offset + i);
                p.Add("r" + i, history[offset + i].Role);
                p.Add("m" + i, SqlDatabase.StorableJson(history[offset + i].Content));
            }
            await conn.ExecuteAsync(sql.ToString(), p, tx);
        }
    }

    /// <summary>Multi-row inserts (100 rows a statement) so a batch of events costs one round trip, not one per event.</summary>
    private async Task InsertEventsAsync(DbConnection conn, DbTransaction tx, string taskId, long firstIdx, IReadOnlyList<NewEvent> events)
    {
        for (var offset = 0; offset < events.Count; offset += 100)
        {
            var n = Math.Min(100, events.Count - offset);
            var sql = new StringBuilder("INSERT INTO task_events(task_id, idx, type, data, ts) VALUES ");
            var p = new DynamicParameters();
            p.Add("t", taskId);
            for (var i = 0; i < n; i++)
            {
                var e = events[offset + i];
                if (i > 0) sql.Append(',');
                sql.Append($"(@t, @i{i}, @y{i}, {db.Json("d" + i)}, @s{i})");
                p.Add("i" + i, firstIdx + offset + i);
                p.Add("y" + i, e.Type);
                p.Add("d" + i, SqlDatabase.StorableJson(e.DataJson));
                p.Add("s" + i, e.Ts);
            }
            await conn.ExecuteAsync(sql.ToString(), p, tx);
        }
    }

    public async Task<(long Step, string StateJson)?> LoadCheckpointAsync(string taskId, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        var row = await conn.QuerySingleOrDefaultAsync<(long Step, string State)?>(new CommandDefinition(
            $"SELECT step, {db.JsonText("state")} AS state FROM task_checkpoints WHERE task_id = @t", new { t = taskId }, cancellationToken: ct));
        return row is { } r ? (r.Step, r.State) : null;
    }

    /// <summary>A conversation's newest @l messages, newest first.</summary>
    private string HistorySql =>
        $"SELECT seq, task_id, role, {db.JsonText("content")} AS content FROM conversation_messages WHERE user_id = @u AND conversation_id = @c ORDER BY seq DESC LIMIT @l";

    public async Task<IReadOnlyList<HistoryMessage>> LoadHistoryAsync(string userId, string conversationId, int maxMessages, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        var rows = await conn.QueryAsync<HistoryMessage>(new CommandDefinition(
            HistorySql,
            new { u = userId, c = conversationId, l = maxMessages }, cancellationToken: ct));
        return rows.Reverse().ToList();
    }

    public async Task<CancelOutcome> CancelAsync(string taskId, string reason, double now, CancellationToken ct = default)
    {
        return await db.WriteAsync(async (conn, tx) =>
        {
            // Nobody holds it (never claimed, interrupted, or its worker's lease ran out): cancel it here and now, and
            // bump the attempt so that a worker that was merely paused can never write to it again.
            if (await CancelNowAsync(conn, tx, taskId, reason, now) is { } ended)
            {
                await PromoteNextAsync(conn, tx, ended.UserId, ended.ConversationId, now);
                return CancelOutcome.CancelledNow;
            }
            var flagged = await conn.ExecuteAsync(
                "UPDATE tasks SET cancel_requested = TRUE, updated_at = @now WHERE id = @id AND status = 'running'", new { id = taskId, now }, tx);
            if (flagged > 0) return CancelOutcome.Requested;
            var exists = await conn.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM tasks WHERE id = @id", new { id = taskId }, tx);
            return exists > 0 ? CancelOutcome.AlreadyFinished : CancelOutcome.NotFound;
        }, ct);
    }

    private sealed record ActiveRow(string Id, string Status, string? LeaseOwner, double? LeaseExpiresAt);

    private sealed class EndedRow
    {
        public long NextIdx { get; set; }
        public string UserId { get; set; } = "";
        public string ConversationId { get; set; } = "";
    }

    /// <summary>
    /// Cancels a task nobody holds (queued, interrupted, never claimed, or with an expired lease) in the caller's
    /// transaction: its last event, its webhook deliveries, and an attempt bump so that a worker that was merely paused
    /// can never write to it again. Null when it is held by a live worker or already ended.
    /// </summary>
    private async Task<EndedRow?> CancelNowAsync(DbConnection conn, DbTransaction tx, string taskId, string reason, double now)
    {
        var ended = await conn.QuerySingleOrDefaultAsync<EndedRow>(
            """
            UPDATE tasks SET status = 'cancelled', cancel_requested = TRUE, attempt = attempt + 1, next_idx = next_idx + 1,
                   lease_owner = NULL, lease_expires_at = NULL, finished_at = @now, updated_at = @now
            WHERE id = @id AND (status IN ('interrupted', 'queued') OR (status = 'running' AND (lease_owner IS NULL OR lease_expires_at < @now)))
            RETURNING next_idx AS NextIdx, user_id AS UserId, conversation_id AS ConversationId
            """, new { id = taskId, now }, tx);
        if (ended is null) return null;
        var data = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["reason"] = reason });
        await InsertEventsAsync(conn, tx, taskId, ended.NextIdx - 1, [new NewEvent(EventTypes.TaskCancelled, data, now)]);
        await conn.ExecuteAsync(WebhookOutbox.InsertSql(db.IsPostgres, WebhookEvents.Cancelled, WebhookOutbox.TaskRowSource(db.IsPostgres, "@id", "next_idx - 1"), "@now"),
            new { id = taskId, now }, tx);
        return ended;
    }

    /// <summary>
    /// When the conversation has no running or interrupted task any more, its oldest queued message becomes a task
    /// waiting for a worker (the fair scheduler's turns and the stranded-task sweep dispatch it); a rollback first takes
    /// the task it replaced out of the history. Runs in the transaction that ended the conversation's task, as a
    /// statement of its own (on PostgreSQL it then sees a send that queued while the ending waited for the row).
    /// </summary>
    private async Task<string?> PromoteNextAsync(DbConnection conn, DbTransaction tx, string userId, string conversationId, double now)
    {
        var promoted = await conn.QuerySingleOrDefaultAsync<PromotedRow>(
            $"""
            UPDATE tasks SET status = 'running', dispatched_at = NULL, updated_at = @now
            WHERE id = (SELECT id FROM tasks WHERE user_id = @u AND conversation_id = @c AND status = 'queued' ORDER BY queue_seq LIMIT 1)
              AND status = 'queued'
              AND NOT EXISTS (SELECT 1 FROM tasks WHERE user_id = @u AND conversation_id = @c AND status IN ('running', 'interrupted'))
            RETURNING id AS Id, {db.JsonText("options")} AS Options
            """, new { u = userId, c = conversationId, now }, tx);
        if (promoted is null) return null;
        var options = TaskOptions.FromJson(promoted.Options);
        if (options.IfBusy == IfBusy.Rollback && options.Supersedes is { } replaced)
            await conn.ExecuteAsync("DELETE FROM conversation_messages WHERE user_id = @u AND conversation_id = @c AND task_id = @replaced",
                new { u = userId, c = conversationId, replaced }, tx);
        return promoted.Id;
    }

    /// <summary>
    /// Starts the head of every conversation queue whose conversation has no running or interrupted task: what a
    /// promotion missed (the head it picked was cancelled in the same instant, say). Answers how many started.
    /// </summary>
    public Task<int> StartOrphanedQueuesAsync(double now, CancellationToken ct = default) =>
        db.WriteAsync(async (conn, tx) =>
        {
            var orphans = (await conn.QueryAsync<EndedRow>(
                """
                SELECT DISTINCT q.user_id AS UserId, q.conversation_id AS ConversationId FROM tasks q
                WHERE q.status = 'queued'
                  AND NOT EXISTS (SELECT 1 FROM tasks a WHERE a.user_id = q.user_id AND a.conversation_id = q.conversation_id AND a.status IN ('running', 'interrupted'))
                LIMIT 100
                """, transaction: tx)).ToList();
            var started = 0;
            foreach (var o in orphans)
                if (await PromoteNextAsync(conn, tx, o.UserId, o.ConversationId, now) is not null) started++;
            return started;
        }, ct);

    private sealed class PromotedRow
    {
        public string Id { get; set; } = "";
        public string Options { get; set; } = "{}";
    }

    /// <summary>PostgreSQL's <see cref="PromoteNextAsync"/> for a group commit: its own statement after the request's ($1 the task, $2 now).</summary>
    private const string PgPromoteNext =
        """
        WITH k AS (SELECT user_id, conversation_id FROM tasks WHERE id = $1),
        p AS (UPDATE tasks t SET status = 'running', dispatched_at = NULL, updated_at = $2 FROM k
              WHERE t.id = (SELECT q.id FROM tasks q WHERE q.user_id = k.user_id AND q.conversation_id = k.conversation_id AND q.status = 'queued' ORDER BY q.queue_seq LIMIT 1)
                AND t.status = 'queued'
                AND NOT EXISTS (SELECT 1 FROM tasks a WHERE a.user_id = k.user_id AND a.conversation_id = k.conversation_id AND a.status IN ('running', 'interrupted'))
              RETURNING t.id, t.user_id, t.conversation_id, t.options),
        d AS (DELETE FROM conversation_messages m USING p
              WHERE p.options->>'if_busy' = 'rollback' AND m.user_id = p.user_id AND m.conversation_id = p.conversation_id AND m.task_id = p.options->>'supersedes')
        SELECT id FROM p
        """;

    public async Task<ResumeOutcome> ResumeAsync(string taskId, string? interruptId, string resumeJson, NewEvent resumedEvent, CancellationToken ct = default)
    {
        var now = UnixTime.Now();
        return await db.WriteAsync(async (conn, tx) =>
        {
            var next = await conn.QuerySingleOrDefaultAsync<long?>(
                $"""
                UPDATE tasks SET status = 'running', resume = {db.Json("resume")}, interrupt = NULL, next_idx = next_idx + 1,
                       dispatched_at = NULL, updated_at = @now
                WHERE id = @id AND status = 'interrupted' AND (@iid IS NULL OR interrupt_id = @iid)
                RETURNING next_idx
                """, new { id = taskId, iid = interruptId, resume = resumeJson, now }, tx);
            if (next is { } n)
            {
                await InsertEventsAsync(conn, tx, taskId, n - 1, [resumedEvent]);
                return ResumeOutcome.Resumed;
            }
            var row = await conn.QuerySingleOrDefaultAsync<(string Status, string? InterruptId)?>(
                "SELECT status, interrupt_id FROM tasks WHERE id = @id", new { id = taskId }, tx);
            return row is null ? ResumeOutcome.NotFound
                : row.Value.Status == TaskStatus.Interrupted ? ResumeOutcome.WrongInterrupt : ResumeOutcome.NotInterrupted;
        }, ct);
    }

    public Task<bool> DeleteTaskAsync(string userId, string taskId, CancellationToken ct = default) =>
        db.WriteAsync(async (conn, tx) =>
        {
            var conversation = await conn.ExecuteScalarAsync<string?>(
                "DELETE FROM tasks WHERE id = @t AND user_id = @u RETURNING conversation_id", new { t = taskId, u = userId }, tx);
            if (conversation is null) return false;
            // A deleted conversation task no longer holds it: the next queued message starts (even if its worker has
            // not stopped yet: that worker's next commit finds no row and stops writing).
            await PromoteNextAsync(conn, tx, userId, conversation, UnixTime.Now());
            await conn.ExecuteAsync("DELETE FROM task_events WHERE task_id = @t", new { t = taskId }, tx);
            await conn.ExecuteAsync("DELETE FROM task_checkpoints WHERE task_id = @t", new { t = taskId }, tx);
            await conn.ExecuteAsync("DELETE FROM conversation_messages WHERE user_id = @u AND task_id = @t", new { t = taskId, u = userId }, tx);
            return true;
        }, ct);

    public Task<bool> DeleteConversationAsync(string userId, string conversationId, CancellationToken ct = default) =>
        db.WriteAsync(async (conn, tx) =>
        {
            var n = await conn.ExecuteAsync("DELETE FROM conversations WHERE user_id = @u AND id = @c", new { u = userId, c = conversationId }, tx);
            if (n == 0) return false;
            const string ids = "SELECT id FROM tasks WHERE user_id = @u AND conversation_id = @c";
            await conn.ExecuteAsync($"DELETE FROM task_events WHERE task_id IN ({ids})", new { u = userId, c = conversationId }, tx);
            await conn.ExecuteAsync($"DELETE FROM task_checkpoints WHERE task_id IN ({ids})", new { u = userId, c = conversationId }, tx);
            await conn.ExecuteAsync("DELETE FROM tasks WHERE user_id = @u AND conversation_id = @c", new { u = userId, c = conversationId }, tx);
            await conn.ExecuteAsync("DELETE FROM conversation_messages WHERE user_id = @u AND conversation_id = @c", new { u = userId, c = conversationId }, tx);
            return true;
        }, ct);

    public async Task<IReadOnlyList<TaskRecord>> FindStuckAsync(double leaseExpiredBefore, double unclaimedBefore, double interruptedBefore, int limit,
        CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<TaskRecord>(new CommandDefinition(
            $"""
            SELECT {TaskSelect} FROM tasks
            WHERE (status = 'running' AND ((lease_owner IS NOT NULL AND lease_expires_at < @expired)
                                           OR (lease_owner IS NULL AND claimed_at IS NULL AND created_at < @unclaimed)))
               OR (status = 'interrupted' AND updated_at < @interrupted)
            ORDER BY updated_at LIMIT @limit
            """, new { expired = leaseExpiredBefore, unclaimed = unclaimedBefore, interrupted = interruptedBefore, limit }, cancellationToken: ct))).ToList();
    }

    public Task<bool> AdminRequeueAsync(string taskId, string auditJson, double now, CancellationToken ct = default) =>
        db.WriteAsync(async (conn, tx) =>
        {
            var next = await conn.QuerySingleOrDefaultAsync<long?>(
                """
                UPDATE tasks SET lease_owner = NULL, lease_expires_at = NULL, dispatched_at = NULL, next_idx = next_idx + 1, updated_at = @now
                WHERE id = @id AND status = 'running' AND (lease_owner IS NULL OR lease_expires_at < @now)
                RETURNING next_idx
                """, new { id = taskId, now }, tx);
            if (next is not { } n) return false;
            await InsertEventsAsync(conn, tx, taskId, n - 1, [new NewEvent(EventTypes.AdminAction, auditJson, now)]);
            return true;
        }, ct);

    public Task<bool> AdminEndAsync(string taskId, string auditJson, string error, double now, CancellationToken ct = default) =>
        db.WriteAsync(async (conn, tx) =>
        {
            var ended = await conn.QuerySingleOrDefaultAsync<EndedRow>(
                """
                UPDATE tasks SET status = 'error', error = @error, attempt = attempt + 1, next_idx = next_idx + 2,
                       lease_owner = NULL, lease_expires_at = NULL, finished_at = @now, updated_at = @now
                WHERE id = @id AND status IN ('running', 'interrupted')
                RETURNING next_idx AS NextIdx, user_id AS UserId, conversation_id AS ConversationId
                """, new { id = taskId, error, now }, tx);
            if (ended is null) return false;
            var failed = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["error"] = error });
            await InsertEventsAsync(conn, tx, taskId, ended.NextIdx - 2,
                [new NewEvent(EventTypes.AdminAction, auditJson, now), new NewEvent(EventTypes.TaskFailed, failed, now)]);
            await conn.ExecuteAsync(WebhookOutbox.InsertSql(db.IsPostgres, WebhookEvents.Failed, WebhookOutbox.TaskRowSource(db.IsPostgres, "@id", "next_idx - 1"), "@now"),
                new { id = taskId, now }, tx);
            await PromoteNextAsync(conn, tx, ended.UserId, ended.ConversationId, now);
            return true;
        }, ct);

    public async Task<long> PruneAsync(double eventsEndedBefore, double tasksEndedBefore, int historyPerConversation, int batch, CancellationToken ct = default)
    {
        // finished_at is set only when a task ends, so none of this touches a running or interrupted task. Each statement
        // is its own short transaction and deletes at most @batch rows (not tasks: a task can have 20,000 events), so
        // retention never holds the database — SQLite's single writer above all — for long.
        async Task<long> Run(string sql, object args) => await db.WriteAsync((conn, tx) => conn.ExecuteAsync(sql, args, tx), ct);
        long deleted = 0;
        const string ended = "t.finished_at IS NOT NULL AND t.finished_at < @before";
        // Events and checkpoints of tasks that ended before the events window (or before the task window).
        foreach (var before in new[] { eventsEndedBefore, tasksEndedBefore })
        {
            deleted += await Run(
                $"""
                DELETE FROM task_events WHERE (task_id, idx) IN (
                    SELECT e.task_id, e.idx FROM task_events e JOIN tasks t ON t.id = e.task_id WHERE {ended} LIMIT @batch)
                """, new { before, batch });
            deleted += await Run(
                $"DELETE FROM task_checkpoints WHERE task_id IN (SELECT c.task_id FROM task_checkpoints c JOIN tasks t ON t.id = c.task_id WHERE {ended} LIMIT @batch)",
                new { before, batch });
        }
        // Webhook deliveries that are over (delivered or given up), with their attempts, after the events window.
        deleted += await Run(
            """
            DELETE FROM webhook_attempts WHERE delivery_id IN (
                SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < @before LIMIT @batch)
            """, new { before = eventsEndedBefore, batch });
        deleted += await Run(
            """
            DELETE FROM webhook_deliveries WHERE id IN (
                SELECT d.id FROM webhook_deliveries d WHERE d.status <> 'pending' AND d.created_at < @before
                  AND NOT EXISTS (SELECT 1 FROM webhook_attempts a WHERE a.delivery_id = d.id) LIMIT @batch)
            """, new { before = eventsEndedBefore, batch });
        // Task rows past the task window, once their events are gone.
        deleted += await Run(
            $"""
            DELETE FROM tasks WHERE id IN (
                SELECT t.id FROM tasks t WHERE {ended} AND NOT EXISTS (SELECT 1 FROM task_events e WHERE e.task_id = t.id)
                ORDER BY t.finished_at LIMIT @batch)
            """, new { before = tasksEndedBefore, batch });
        // The model reads only the newest Worker:HistoryMaxMessages of a conversation; messages beyond the newest @keep
        // (counted, not by seq arithmetic: deleted tasks leave gaps) go, so what the model sees does not change.
        deleted += await Run(
            """
            DELETE FROM conversation_messages WHERE (user_id, conversation_id, seq) IN (
                SELECT user_id, conversation_id, seq FROM (
                    SELECT user_id, conversation_id, seq,
                           ROW_NUMBER() OVER (PARTITION BY user_id, conversation_id ORDER BY seq DESC) AS newest
                    FROM conversation_messages) m
                WHERE m.newest > @keep LIMIT @batch)
            """, new { keep = historyPerConversation, batch });
        return deleted;
    }

    public async Task<long> CountConversationsAsync(CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM conversations", cancellationToken: ct));
    }

    public async Task<IReadOnlyList<string>> ActiveUsersAsync(CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<string>(new CommandDefinition(
            "SELECT DISTINCT user_id FROM tasks WHERE status IN ('running', 'interrupted') ORDER BY user_id", cancellationToken: ct))).ToList();
    }
}
