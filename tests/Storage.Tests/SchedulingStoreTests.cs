using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using Agents.Micro.TestSupport;
using Dapper;
using TaskStatus = Agents.Micro.Storage.Tasks.TaskStatus;

namespace Agents.Micro.Storage.Tests;

/// <summary>
/// What the store guarantees for sharing between users: the exact per-user cap, the fair claim, queue positions and
/// task ids scoped to their user. Each test gets empty databases: the claim looks at every waiting task.
/// </summary>
public sealed class SchedulingStoreTests : IAsyncLifetime
{
    public static TheoryData<string> Providers => ["postgres", "sqlite"];

    private PgTestDatabase? _pg;
    private string? _sqliteDir;
    private SqlDatabase? _pgDb, _sqliteDb;

    public async ValueTask InitializeAsync()
    {
        _pg = await TestEnv.CreatePgDatabaseAsync();
        _pgDb = new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = _pg.ConnectionString });
        _sqliteDir = Directory.CreateTempSubdirectory("agents-sched-").FullName;
        _sqliteDb = new SqlDatabase(new DatabaseOptions { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_sqliteDir, "t.db")}" });
    }

    public async ValueTask DisposeAsync()
    {
        if (_pgDb is not null) await _pgDb.DisposeAsync();
        if (_sqliteDb is not null) await _sqliteDb.DisposeAsync();
        if (_pg is not null) await _pg.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_sqliteDir is not null) try { Directory.Delete(_sqliteDir, true); } catch (IOException) { }
    }

    private async Task<SqlTaskStore> StoreAsync(string provider)
    {
        var store = new SqlTaskStore(provider == "postgres" ? _pgDb! : _sqliteDb!);
        await store.EnsureSchemaAsync(TestContext.Current.CancellationToken);
        return store;
    }

    private static TaskRecord NewTask(string user, string? clientId = null, double? createdAt = null)
    {
        var now = createdAt ?? UnixTime.Now();
        return new TaskRecord
        {
            Id = Guid.NewGuid().ToString(), ClientId = clientId, ConversationId = "c-" + Guid.NewGuid().ToString("N")[..8], UserId = user,
            Status = TaskStatus.Running, Query = "q", Options = new TaskOptions { Message = "q" }.ToJson(), CreatedAt = now, UpdatedAt = now,
        };
    }

    private static async Task<TaskRecord> AddAsync(ITaskStore store, string user, double createdAt)
    {
        var t = NewTask(user, createdAt: createdAt);
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(t, createConversation: true));
        return t;
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task CreateTask_FiftyConcurrentSendsAtTheCap_ExactlyOneGetsIn(string provider)
    {
        var store = await StoreAsync(provider);
        const int cap = 20;
        for (var i = 0; i < cap - 1; i++)
            Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(NewTask("alice"), true, cap));

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => store.CreateTaskAsync(NewTask("alice"), true, cap))));

        Assert.Equal(1, results.Count(r => r == CreateTaskResult.Created));
        Assert.Equal(49, results.Count(r => r == CreateTaskResult.TooManyActive));
        Assert.Equal(cap, await store.CountActiveAsync("alice"));
        // Another user is not held back by alice's cap.
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(NewTask("bob"), true, cap));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task CreateTask_InterruptedTasksCountUnderTheCap(string provider)
    {
        var store = await StoreAsync(provider);
        var t = NewTask("alice");
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(t, true, 1));
        var now = UnixTime.Now();
        var claimed = await store.TryClaimAsync(t.Id, "w", now + 30, now);
        await store.CommitAsync(new TaskLease(t.Id, claimed!.Attempt, "w"), [new NewEvent(EventTypes.Interrupt, "{}", now)],
            new TaskTransition.Interrupt("i1", "{}"));

        Assert.Equal(CreateTaskResult.TooManyActive, await store.CreateTaskAsync(NewTask("alice"), true, 1));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ClaimNext_TheUserHoldingFewestGoesFirst_AndNoUserExceedsTheLimit(string provider)
    {
        var store = await StoreAsync(provider);
        var t0 = UnixTime.Now() - 100;
        var a = new List<TaskRecord>();
        for (var i = 0; i < 6; i++) a.Add(await AddAsync(store, "alice", t0 + i));
        var b = await AddAsync(store, "bob", t0 + 50); // bob asks last
        var now = UnixTime.Now();

        async Task<string?> Claim(string? preferred) => (await store.ClaimNextAsync(preferred, "w1", 30, 3))?.Id;

        Assert.Equal(a[0].Id, await Claim(a[0].Id));
        // alice holds one, bob none: bob's task takes the turn even when the command was sent for alice's.
        Assert.Equal(b.Id, await Claim(a[1].Id));
        Assert.Equal(a[1].Id, await Claim(a[1].Id));
        Assert.Equal(a[2].Id, await Claim(null));
        // alice holds 3 (the limit): her other tasks wait, whoever asks.
        Assert.Null(await Claim(a[3].Id));
        Assert.Null(await store.PeekNextAsync(now, 3));
        // While they wait they have a place in the queue; a held task has none.
        Assert.Equal(1, await store.QueuePositionAsync((await store.GetTaskAsync(a[3].Id))!, now));
        Assert.Equal(3, await store.QueuePositionAsync((await store.GetTaskAsync(a[5].Id))!, now));
        Assert.Null(await store.QueuePositionAsync((await store.GetTaskAsync(a[0].Id))!, now));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ClaimNext_ManyWorkersAtOnce_NeverGiveOneUserMoreThanTheLimit(string provider)
    {
        var store = await StoreAsync(provider);
        var t0 = UnixTime.Now() - 100;
        for (var i = 0; i < 30; i++) await AddAsync(store, "alice", t0 + i);
        var now = UnixTime.Now();

        var claims = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => store.ClaimNextAsync(null, "w" + i, 30, 4))));

        Assert.Equal(4, claims.Count(c => c is not null));
        Assert.Equal(4, claims.Where(c => c is not null).Select(c => c!.Id).Distinct().Count());
    }

    [Fact]
    public async Task ClaimNext_AClaimerFrozenMidClaim_HoldsUpNoOtherClaim()
    {
        var store = await StoreAsync("postgres");
        var t0 = UnixTime.Now() - 100;
        var alices = await AddAsync(store, "alice", t0);
        var bobs = await AddAsync(store, "bob", t0 + 1);
        // A worker stopped (SIGSTOP) in the middle of claiming one of alice's tasks: its transaction holds her claim lock.
        await using var frozen = await _pgDb!.OpenAsync(TestContext.Current.CancellationToken);
        await using var tx = await frozen.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await frozen.ExecuteAsync("SELECT pg_advisory_xact_lock(@k)", new { k = SqlDatabase.StableHash("claim:alice") }, tx);

        var claim = store.ClaimNextAsync(alices.Id, "w1", 30, 8);
        var finished = await Task.WhenAny(claim, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));

        Assert.Same(claim, finished); // it did not wait for the frozen one
        Assert.Equal(bobs.Id, (await claim)?.Id);
        await tx.RollbackAsync(TestContext.Current.CancellationToken);
        Assert.Equal(alices.Id, (await store.ClaimNextAsync(null, "w1", 30, 8))?.Id);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task RenewLeases_OneStatementForAllOfAWorkersTasks_ReportsLostOnesAndCancels(string provider)
    {
        var store = await StoreAsync(provider);
        var t0 = UnixTime.Now() - 100;
        var a = await AddAsync(store, "alice", t0);
        var b = await AddAsync(store, "bob", t0 + 1);
        var c = await AddAsync(store, "carol", t0 + 2);
        var now = UnixTime.Now();
        foreach (var t in new[] { a, b }) Assert.NotNull(await store.TryClaimAsync(t.Id, "w1", now + 1, now));
        Assert.NotNull(await store.TryClaimAsync(c.Id, "w2", now + 1, now));
        Assert.Equal(CancelOutcome.Requested, await store.CancelAsync(b.Id, "stop", now));

        // w1 also names c, which w2 holds: not renewed, so w1 learns it is not its own.
        var renewed = await store.RenewLeasesAsync("w1", [a.Id, b.Id, c.Id], now + 60);

        Assert.Equal([(a.Id, false), (b.Id, true)], renewed.OrderBy(r => r.TaskId == b.Id).ToList());
        Assert.Equal(now + 60, (await store.GetTaskAsync(a.Id))!.LeaseExpiresAt!.Value, 3);
        Assert.Equal(now + 1, (await store.GetTaskAsync(c.Id))!.LeaseExpiresAt!.Value, 3);
        Assert.Empty(await store.RenewLeasesAsync("w1", [], now + 60));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Retention_AUserWhoDeletesNothing_DoesNotGrowTheDatabaseWithoutBound_AndOpenTasksAreNeverPruned(string provider)
    {
        var store = await StoreAsync(provider);
        var db = provider == "postgres" ? _pgDb! : _sqliteDb!;
        const double day = 86400;
        var t0 = UnixTime.Now() - 30 * day;
        // A task that never ends (still running) and one waiting for a human, both from the first day.
        var running = await AddAsync(store, "alice", t0);
        var lease = new TaskLease(running.Id, (await store.TryClaimAsync(running.Id, "w", UnixTime.Now() + 3600, UnixTime.Now()))!.Attempt, "w");
        await store.CommitAsync(lease, [new NewEvent(EventTypes.TaskStarted, "{}", t0)], checkpoint: (0, "{}"));
        var waiting = await AddAsync(store, "alice", t0);
        var wl = new TaskLease(waiting.Id, (await store.TryClaimAsync(waiting.Id, "w", UnixTime.Now() + 3600, UnixTime.Now()))!.Attempt, "w");
        await store.CommitAsync(wl, [new NewEvent(EventTypes.Interrupt, "{}", t0)], new TaskTransition.Interrupt("i", "{}"));

        var counts = new List<(long Events, long Tasks, long History)>();
        for (var d = 0; d < 12; d++)
        {
            var now = t0 + d * day;
            for (var i = 0; i < 5; i++)
            {
                // One turn of the same conversation, ended on day d: 10 events, a checkpoint, 2 history messages.
                var t = NewTask("alice");
                t.ConversationId = "chat";
                Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(t, true));
                var l = new TaskLease(t.Id, (await store.TryClaimAsync(t.Id, "w", UnixTime.Now() + 60, UnixTime.Now()))!.Attempt, "w");
                await store.CommitAsync(l, Enumerable.Range(0, 10).Select(k => new NewEvent(EventTypes.TextChunk, "{}", now)).ToList(),
                    new TaskTransition.Complete("{}"), (1, "{}"),
                    [new HistoryMessage { Role = "user", Content = "{}" }, new HistoryMessage { Role = "assistant", Content = "{}" }]);
                await db.WriteAsync((conn, tx) => conn.ExecuteAsync("UPDATE tasks SET finished_at = @now WHERE id = @id", new { now, id = t.Id }, tx));
            }
            // Keep events 2 days, task rows 5 days, the newest 6 history messages of a conversation; small batches.
            long pass;
            do pass = await store.PruneAsync(now - 2 * day, now - 5 * day, 6, 7); while (pass > 0);
            await using var conn = await db.OpenAsync(TestContext.Current.CancellationToken);
            counts.Add((await conn.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM task_events"),
                await conn.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM tasks"),
                await conn.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM conversation_messages WHERE conversation_id = 'chat'")));
        }

        // Bounded by the policy, not by the days that passed: events of 3 days of turns (+ the two open tasks'), rows
        // of 6 days (+ 2), 6 history messages.
        Assert.All(counts, c => Assert.True(c.Events <= 3 * 5 * 10 + 2 && c.Tasks <= 6 * 5 + 2 && c.History == Math.Min(c.History, 6), c.ToString()));
        Assert.Equal(counts[^1], counts[^2]); // steady state
        Assert.Equal(6, counts[^1].History);
        // The open tasks were never touched.
        Assert.Single(await store.ReadEventsAsync(running.Id, 0, 10));
        Assert.NotNull(await store.LoadCheckpointAsync(running.Id));
        Assert.Equal(TaskStatus.Interrupted, (await store.GetTaskAsync(waiting.Id))!.Status);
        Assert.Single(await store.ReadEventsAsync(waiting.Id, 0, 10));
    }

    [Fact]
    public async Task QueuePosition_IsRoundRobinAcrossUsers()
    {
        var store = await StoreAsync("postgres");
        var t0 = UnixTime.Now() - 100;
        var a1 = await AddAsync(store, "alice", t0);
        var a2 = await AddAsync(store, "alice", t0 + 1);
        var a3 = await AddAsync(store, "alice", t0 + 2);
        var b1 = await AddAsync(store, "bob", t0 + 3);
        var now = UnixTime.Now();

        // alice's first, then bob's first (his turn comes before alice's second), then alice's second and third.
        var order = new[] { a1, b1, a2, a3 };
        for (var i = 0; i < order.Length; i++)
            Assert.Equal(i + 1, await store.QueuePositionAsync((await store.GetTaskAsync(order[i].Id))!, now));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ClientIds_AreScopedToTheirUser(string provider)
    {
        var store = await StoreAsync(provider);
        var alices = NewTask("alice", "task-0001");
        var bobs = NewTask("bob", "task-0001");

        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(alices, true));
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(bobs, true));
        Assert.Equal(alices.Id, (await store.FindTaskAsync("alice", "task-0001"))!.Id);
        Assert.Equal(bobs.Id, (await store.FindTaskAsync("bob", "task-0001"))!.Id);
        Assert.Null(await store.FindTaskAsync("carol", "task-0001"));
        // The same user reusing an id is refused.
        Assert.Equal(CreateTaskResult.DuplicateTaskId, await store.CreateTaskAsync(NewTask("alice", "task-0001"), true));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Schema_TasksFromBeforeClientIds_AreFoundByTheirId(string provider)
    {
        var store = await StoreAsync(provider);
        var old = NewTask("alice");
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(old, true));
        // Back to the schema before client ids, as a database of the previous release has it.
        var db = provider == "postgres" ? _pgDb! : _sqliteDb!;
        await db.WriteAsync(async (conn, tx) =>
        {
            await conn.ExecuteAsync("DROP INDEX ux_tasks_user_client", transaction: tx);
            await conn.ExecuteAsync("DROP INDEX ix_tasks_without_client_id", transaction: tx);
            return await conn.ExecuteAsync("ALTER TABLE tasks DROP COLUMN client_id", transaction: tx);
        });

        await store.EnsureSchemaAsync(TestContext.Current.CancellationToken);

        Assert.Equal(old.Id, (await store.FindTaskAsync("alice", old.Id))!.PublicId);
        Assert.Null(await store.FindTaskAsync("bob", old.Id));
    }
}
