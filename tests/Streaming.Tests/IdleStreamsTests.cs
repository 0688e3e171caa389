using System.Diagnostics;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.Storage.Tasks;
using Agents.Micro.TestSupport;
using Npgsql;

namespace Agents.Micro.Streaming.Tests;

/// <summary>
/// A thousand idle SSE clients on one TaskApi (Kestrel, real PostgreSQL): the database work during an idle period does
/// not grow with the number of clients. Queries are counted as PostgreSQL sees them (transactions on the test database).
/// </summary>
public sealed class IdleStreamsTests(ITestOutputHelper output)
{
    private const string Key = "idle-streams-test-internal-key-0123456789abcdef";
    private const int Tasks = 100;
    private static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(10);
    // A PostgreSQL 15 backend that was busy less than a second ago publishes its counts only after 10 s of idleness.
    private static readonly TimeSpan StatsLag = TimeSpan.FromSeconds(11);

    [Fact]
    public async Task ThousandIdleSseClients_CauseNoPerClientQueries()
    {
        await using var db = await TestEnv.CreatePgDatabaseAsync();
        await using var api = await ServiceProcess.StartAsync("TaskApi", "Agents.Micro.TaskApi", new Dictionary<string, string>
        {
            ["Database__Provider"] = "postgres",
            // A production-sized pool: a burst of connecting clients queues for it instead of opening a connection each.
            ["Database__ConnectionString"] = db.ConnectionString + ";Maximum Pool Size=20",
            ["Messaging__Transport"] = "inmemory",
            ["Auth__InternalKey"] = Key,
            ["Dispatch__SweepIntervalSeconds"] = "3600", // nothing but the streams touches the database
            ["Streaming__RecheckSeconds"] = "2",
            ["Streaming__KeepAliveSeconds"] = "3",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        await api.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));

        // Running tasks nobody works on: their streams stay open and idle.
        var store = new SqlTaskStore(new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = db.ConnectionString }));
        var ids = new List<string>();
        var now = UnixTime.Now();
        for (var i = 0; i < Tasks; i++)
        {
            var t = new TaskRecord { Id = Guid.NewGuid().ToString(), ConversationId = "c" + i, UserId = "idle", Query = "x", Options = "{}", CreatedAt = now, UpdatedAt = now };
            Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(t, createConversation: true));
            ids.Add(t.Id);
        }

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(api.BaseUrl), Timeout = Timeout.InfiniteTimeSpan }.SignedAs(new InternalIdentity(Key), "idle");
        using var stop = new CancellationTokenSource();
        var streams = new List<Task<int>>();

        await DisableAutovacuumAsync(db);

        // The same 100 tasks are watched in both phases: first by one client each, then by ten.
        streams.AddRange(await OpenAsync(api, http, ids, 0, Tasks, stop.Token));
        var (queries100, rss100) = await MeasureIdleAsync(db, api.Pid);
        streams.AddRange(await OpenAsync(api, http, ids, Tasks, 1000 - Tasks, stop.Token));
        var (queries1000, rss1000) = await MeasureIdleAsync(db, api.Pid);

        await stop.CancelAsync();
        var keepAlives = (await Task.WhenAll(streams)).Sum();
        var perStreamKb = (rss1000.Start - rss100.Start) / (1000.0 - Tasks) / 1024;
        output.WriteLine($"idle {(IdleWindow + StatsLag).TotalSeconds:0} s, {Tasks} tasks watched: {queries100} queries with {Tasks} SSE clients, {queries1000} with 1000");
        output.WriteLine($"TaskApi working set: {rss100.Start / 1048576.0:0.0} MiB with {Tasks} streams, {rss1000.Start / 1048576.0:0.0} MiB with 1000: {perStreamKb:0.0} KiB per stream");
        output.WriteLine($"keep-alive comments received: {keepAlives}");

        Assert.False(api.HasExited, api.Output);
        // Per-client polling would be at least one query per client per window (900 more here); the shared re-check is
        // one per tick whatever the clients. A few transactions of slack: a pooled connection's statistics can reach
        // the counter a window late (one CI run counted 10 and 14).
        Assert.True(queries1000 <= queries100 + 8, $"{queries100} queries with {Tasks} clients, {queries1000} with 1000");
        // One re-check every 2 s (two transactions each: Npgsql's pool reset, then the query) over 21 s: about 22.
        Assert.True(queries1000 <= 30, $"{queries1000} queries while 1000 clients were idle for {IdleWindow + StatsLag}");
        // Every stream stayed open and got its keep-alives (3 s apart) throughout.
        Assert.True(keepAlives >= 1000 * 6, $"{keepAlives} keep-alives");
    }

    /// <summary>Opens <paramref name="count"/> streams (spread over the tasks) and waits until each is open.</summary>
    private static async Task<List<Task<int>>> OpenAsync(ServiceProcess api, HttpClient http, List<string> ids, int start, int count, CancellationToken stop)
    {
        var readers = new List<Task<int>>();
        foreach (var batch in Enumerable.Range(start, count).Chunk(50))
        {
            var opened = batch.Select(async i =>
            {
                var resp = await http.GetAsync($"/api/v1/tasks/{ids[i % ids.Count]}/events", HttpCompletionOption.ResponseHeadersRead);
                if (!resp.IsSuccessStatusCode)
                    Assert.Fail($"stream {i}: {(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync()}\n{api.Output[^Math.Min(4000, api.Output.Length)..]}");
                var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
                Assert.Equal("retry: 3000", await reader.ReadLineAsync());
                return (resp, reader);
            }).ToList();
            foreach (var (resp, reader) in await Task.WhenAll(opened)) readers.Add(DrainAsync(resp, reader, stop));
        }
        return readers;
    }

    /// <summary>Reads the stream until the test ends; returns the keep-alive comments it saw.</summary>
    private static async Task<int> DrainAsync(HttpResponseMessage resp, StreamReader reader, CancellationToken stop)
    {
        var comments = 0;
        try
        {
            while (await reader.ReadLineAsync(stop) is { } line)
            {
                if (line.StartsWith(':')) comments++;
                else if (line.StartsWith("data:")) throw new InvalidOperationException("an idle stream got an event: " + line);
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            reader.Dispose();
            resp.Dispose();
        }
        return comments;
    }

    /// <summary>Lets the streams settle, then counts the queries the test database serves over an idle window.</summary>
    private async Task<(long Queries, (long Start, long End) Rss)> MeasureIdleAsync(PgTestDatabase db, int pid)
    {
        // Opening streams reads once per client: the window starts only once those reads are over and counted. Counts
        // can lag by StatsLag, so the counter is read StatsLag apart until it moves by no more than the background
        // re-checks do in that time (one per 2 s, two transactions each: about 11). A single fixed wait let a straggling batch of opening reads
        // into the window on a loaded machine. The window's own counts also need StatsLag to arrive before it is read.
        await Task.Delay(StatsLag);
        var settleDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        for (var last = await TransactionsAsync(db.Name); ;)
        {
            await Task.Delay(StatsLag);
            var now = await TransactionsAsync(db.Name);
            if (now - last <= 15) break;
            if (DateTime.UtcNow > settleDeadline)
                Assert.Fail($"the opening reads never settled: {now - last} transactions in the last {StatsLag.TotalSeconds:0} s");
            last = now;
        }
        var rssStart = Rss(pid);
        var before = await TransactionsAsync(db.Name);
        await Task.Delay(IdleWindow + StatsLag);
        var after = await TransactionsAsync(db.Name);
        output.WriteLine($"transactions on {db.Name}: {before} -> {after}");
        return (after - before, (rssStart, Rss(pid)));
    }

    /// <summary>
    /// Each TaskApi query is one (implicit) transaction on the test database, counted from another database so the
    /// counting itself does not count.
    /// </summary>
    private static async Task<long> TransactionsAsync(string dbName)
    {
        await using var conn = new NpgsqlConnection(TestEnv.PgAdmin);
        await conn.OpenAsync();
        await using (var clear = new NpgsqlCommand("SELECT pg_stat_clear_snapshot()", conn)) await clear.ExecuteNonQueryAsync();
        await using var cmd = new NpgsqlCommand("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = @n", conn);
        cmd.Parameters.AddWithValue("n", dbName);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>Autovacuum's transactions on the fresh tables would be counted too: switch it off for them.</summary>
    private static async Task DisableAutovacuumAsync(PgTestDatabase db)
    {
        await using var conn = new NpgsqlConnection(db.ConnectionString);
        await conn.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", conn))
        await using (var r = await list.ExecuteReaderAsync())
            while (await r.ReadAsync()) tables.Add(r.GetString(0));
        foreach (var t in tables)
        {
            await using var off = new NpgsqlCommand($"ALTER TABLE \"{t}\" SET (autovacuum_enabled = false)", conn);
            await off.ExecuteNonQueryAsync();
        }
    }

    private static long Rss(int pid)
    {
        using var p = Process.GetProcessById(pid);
        p.Refresh();
        return p.WorkingSet64;
    }
}
