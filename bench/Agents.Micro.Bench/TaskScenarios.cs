using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Dapper;

namespace Agents.Micro.Bench;

/// <summary>Scenarios 1, 2, 3 and 6: dispatch, throughput, event delivery and cancel, on either deployment.</summary>
public sealed class TaskScenarios(Deployment d, Settings s, Report report)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private string Tag(string name) => $"{name} ({d.Label}{(d.Embedded ? "" : $", {d.Workers.Count} worker{(d.Workers.Count > 1 ? "s" : "")}")})";

    /// <summary>A few tasks end to end so that JIT, pools, queues and the broker connections are warm.</summary>
    public async Task WarmUpAsync()
    {
        var api = d.Client();
        var until = Stopwatch.StartNew();
        while (until.Elapsed.TotalSeconds < (s.Quick ? 2 : 8))
        {
            var tasks = Enumerable.Range(0, 8).Select(async _ =>
            {
                var (id, _) = await api.SubmitAsync("count to 10");
                await api.WaitForAsync(id, Api.IsTerminal, 5, Timeout);
            });
            await Task.WhenAll(tasks);
        }
    }

    /// <summary>Scenario 1, light load: one client, one task at a time, polling as fast as it can.</summary>
    public async Task DispatchLightAsync()
    {
        var api = d.Client();
        Samples visible = new(), server = new(), accepted = new();
        for (var i = 0; i < s.Samples; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            var (id, createdAt) = await api.SubmitAsync("hello");
            accepted.Add(Api.Ms(t0, Stopwatch.GetTimestamp()));
            var (seen, ev, next) = await api.WaitForAsync(id, t => t == "task_started", 0, Timeout);
            visible.Add(Api.Ms(t0, seen));
            server.Add((ev.Ts - createdAt) * 1000);
            await api.WaitForAsync(id, Api.IsTerminal, 1, Timeout, next);
        }
        report.Latency("1 dispatch", Tag("POST /messages → 202, light load"), accepted);
        report.Latency("1 dispatch", Tag("POST → task_started visible, light load"), visible, d.Embedded ? null : "MassTransit request/response",
            note: "client-observed; includes one poll round trip");
        report.Latency("1 dispatch", Tag("task row created → task_started appended (server clocks)"), server,
            note: "queue + claim + memory recall + first commit");
    }

    /// <summary>Scenario 1 at saturation and scenario 2 seen by clients: C closed-loop clients, each task counts to 10.</summary>
    public async Task DispatchSaturatedAsync()
    {
        var api = d.Client();
        var visible = new Samples();
        var completed = 0;
        var errors = 0;
        var stop = Stopwatch.StartNew();
        async Task Client()
        {
            while (stop.Elapsed.TotalSeconds < s.Duration)
            {
                try
                {
                    var t0 = Stopwatch.GetTimestamp();
                    var (id, _) = await api.SubmitAsync("count to 10");
                    // Long polls, as a client under load should follow a task: the server answers when an event exists.
                    var (seen, _, next) = await api.WaitForAsync(id, t => t == "task_started" || Api.IsTerminal(t), -1, Timeout);
                    visible.Add(Api.Ms(t0, seen));
                    await api.WaitForAsync(id, Api.IsTerminal, -1, Timeout, next);
                    Interlocked.Increment(ref completed);
                }
                catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or HttpRequestException)
                {
                    if (Interlocked.Increment(ref errors) <= 3) Console.WriteLine("    client error: " + ex.Message);
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, s.Concurrency).Select(_ => Task.Run(Client)));
        var elapsed = stop.Elapsed.TotalSeconds;
        report.Latency("1 dispatch", Tag($"POST → task_started visible, saturation ({s.Concurrency} clients)"), visible,
            note: $"clients long-poll (wait=10) for task_started, then to the end; {errors} errors");
        report.Rate("2 throughput", Tag($"completed tasks/s seen by {s.Concurrency} long-polling clients"), "tasks/s", completed / elapsed, n: completed);
    }

    /// <summary>
    /// Scenario 2: N tasks ("count to 10": 10 text_chunk events each) submitted by 16 concurrent senders as fast as the API
    /// takes them; the rate is completed tasks over the span from the first created to the last finished, read from the
    /// database afterwards (no client polling load).
    /// </summary>
    public async Task ThroughputAsync()
    {
        var api = d.Client();
        var n = s.ThroughputTasks;
        var costBefore = d.Embedded ? default : await DbCostAsync();
        var cpuBefore = d.Processes.ToDictionary(p => p, p => p.CpuSeconds());
        var t0 = Api.UnixNow() - 0.001;
        var next = -1;
        var submitted = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < n) await api.SubmitAsync("count to 10");
        })));
        var submitSeconds = submitted.Elapsed.TotalSeconds;
        // The bench's own queries read by full scans only (one per table each): they are subtracted exactly below.
        using var db = d.OpenDb(ownScansOnly: true);
        var deadline = Stopwatch.StartNew();
        long done = 0;
        var ownQueries = 0;
        while (deadline.Elapsed < TimeSpan.FromSeconds(120 + n / 20))
        {
            ownQueries++;
            done = await db.ExecuteScalarAsync<long>("SELECT count(*) FROM tasks WHERE created_at >= @t0 AND status <> 'running'", new { t0 });
            if (done >= n) break;
            await Task.Delay(250);
        }
        var row = await db.QuerySingleAsync<(long, double, double)>(
            "SELECT count(*), min(created_at), max(updated_at) FROM tasks WHERE created_at >= @t0 AND status = 'completed'", new { t0 });
        var events = await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM task_events e JOIN tasks t ON t.id = e.task_id WHERE t.created_at >= @t0", new { t0 });
        var span = row.Item3 - row.Item2;
        report.Rate("2 throughput", Tag("completed tasks/s (count to 10)"), "tasks/s", row.Item1 / span,
            !d.Embedded && d.Workers.Count > 1 ? "completed tasks/s (count to 10) (distributed, 1 worker)" : null, n: (int)row.Item1,
            note: $"{n} submitted in {submitSeconds:F1} s ({n / submitSeconds:F0}/s); {n - row.Item1} not completed");
        report.Rate("2 throughput", Tag("events appended/s"), "events/s", events / span, d.Embedded ? null : "PG 1-row INSERT+commit", n: (int)events,
            note: $"{events / Math.Max(1.0, row.Item1):F1} events per task");
        // CPU each process used over the run (utime + stime from /proc): where a second worker's cycles come from.
        var cpu = d.Processes.Select(p => $"{p.Name} {(p.CpuSeconds() - cpuBefore[p]) / span * 100:F0}%").ToList();
        report.Rate("2 throughput", Tag("CPU of the deployment's processes"), "cores", d.Processes.Sum(p => p.CpuSeconds() - cpuBefore[p]) / span,
            note: string.Join(", ", cpu) + $" of one core, over {span:F1} s; the machine has {Environment.ProcessorCount}");
        if (!d.Embedded)
        {
            var after = await DbCostAsync();
            var tasks = Math.Max(1.0, n);
            report.Rate("2 throughput", Tag("PostgreSQL transactions per task"), "xact/task", (after.Xacts - costBefore.Xacts - ownQueries - 2) / tasks,
                note: "pg_stat_database.xact_commit over the run (submit, claim, commits, reads, lease renewals, memory recall); load-independent");
            // The bench's own: the wait loop and the row count read tasks once each, the event count reads both tables.
            var ownSeq = ownQueries + 1 + 2;
            var seqTables = after.SeqByTable.Select(t => (t.Key, t.Value - costBefore.SeqByTable.GetValueOrDefault(t.Key)
                    - (t.Key == "tasks" ? ownQueries + 2 : t.Key == "task_events" ? 1 : 0)))
                .Where(t => t.Item2 > 0).Select(t => $"{t.Key} {t.Item2}");
            report.Rate("2 throughput", Tag("PostgreSQL full table scans per task"), "seq scans/task", (after.SeqScans - costBefore.SeqScans - ownSeq) / tasks,
                note: "pg_stat_user_tables.seq_scan: statements no index could answer; " + (seqTables.Any() ? string.Join(", ", seqTables) : "none"));
            report.Rate("2 throughput", Tag("PostgreSQL index scans per task"), "idx scans/task", (after.IdxScans - costBefore.IdxScans) / tasks,
                note: "pg_stat_user_tables.idx_scan: a proxy for statements that read (a lookup through an index)");
        }
    }

    /// <summary>
    /// Scenario 2b: the event-write path alone. 16 tasks each stream 2,000 chunks at once (as fast as the local model
    /// makes them), so the worker has many tasks' events to write at the same time: events/s over first created → last
    /// finished, and PostgreSQL transactions per 1,000 events. This is where group commit shows (one transaction per
    /// batch for all tasks, not one per task per flush); the "count to 10" run above is dominated by per-task costs.
    /// </summary>
    public async Task StreamingThroughputAsync()
    {
        var api = d.Client();
        const int tasks = 16, count = 2000;
        var costBefore = d.Embedded ? default : await DbCostAsync();
        var t0 = Api.UnixNow() - 0.001;
        await Task.WhenAll(Enumerable.Range(0, tasks).Select(_ => api.SubmitAsync($"count to {count}")));
        // Waited for in the database (no client reads 32,000 events meanwhile); each look is one transaction, subtracted.
        using var db = d.OpenDb(ownScansOnly: true);
        var own = 2;
        for (var waited = Stopwatch.StartNew(); waited.Elapsed < TimeSpan.FromMinutes(5); own++)
        {
            if (await db.ExecuteScalarAsync<long>("SELECT count(*) FROM tasks WHERE created_at >= @t0 AND status <> 'running'", new { t0 }) >= tasks) break;
            await Task.Delay(100);
        }
        var row = await db.QuerySingleAsync<(long, double, double)>(
            "SELECT count(*), min(created_at), max(updated_at) FROM tasks WHERE created_at >= @t0 AND status = 'completed'", new { t0 });
        var events = await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM task_events e JOIN tasks t ON t.id = e.task_id WHERE t.created_at >= @t0", new { t0 });
        var span = row.Item3 - row.Item2;
        report.Rate("2 throughput", Tag($"events appended/s, {tasks} tasks streaming {count} chunks each"), "events/s", events / span,
            d.Embedded ? null : "PG 1-row INSERT+commit", n: (int)events, note: $"{row.Item1} of {tasks} completed in {span:F2} s");
        if (!d.Embedded)
        {
            var after = await DbCostAsync();
            report.Rate("2 throughput", Tag("PostgreSQL transactions per 1,000 streamed events"), "xact/1000 events",
                (after.Xacts - costBefore.Xacts - own) * 1000.0 / Math.Max(1, events),
                note: "pg_stat_database.xact_commit over the run, the bench's own reads subtracted; one commit per event would be 1,000");
        }
    }

    /// <summary>Cumulative PostgreSQL work in the deployment's database: deterministic, unlike timings on a busy machine.</summary>
    private async Task<(long Xacts, long SeqScans, long IdxScans, Dictionary<string, long> SeqByTable)> DbCostAsync()
    {
        // A server process publishes its counters some time after it goes idle, not at once: read until they stop moving.
        using var db = d.OpenDb();
        long x = -1;
        for (var waited = Stopwatch.StartNew(); waited.Elapsed < TimeSpan.FromSeconds(15);)
        {
            await Task.Delay(1100);
            var now = await db.ExecuteScalarAsync<long>("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
            // This loop's own read is one transaction.
            if (now == x + 1) break;
            x = now;
        }
        var tables = (await db.QueryAsync<(string Name, long Seq, long Idx, long Writes)>(
            "SELECT relname::text, COALESCE(seq_scan, 0)::bigint, COALESCE(idx_scan, 0)::bigint, (n_tup_ins + n_tup_upd)::bigint FROM pg_stat_user_tables")).ToList();
        if (Environment.GetEnvironmentVariable("BENCH_VERBOSE") == "1")
            Console.WriteLine("    db: xact " + x + "; " + string.Join(", ", tables.Where(t => t.Seq + t.Idx + t.Writes > 0)
                .Select(t => $"{t.Name} seq {t.Seq} idx {t.Idx} writes {t.Writes}")));
        return (x, tables.Sum(t => t.Seq), tables.Sum(t => t.Idx), tables.ToDictionary(t => t.Name, t => t.Seq));
    }

    /// <summary>Scenario 3: event appended (its ts, set by the worker) → seen by a client polling as fast as it can, and by SSE.</summary>
    public async Task DeliveryAsync()
    {
        var api = d.Client();
        var poll = new Samples();
        var sse = new Samples();
        var sseMissing = false;
        var runs = Math.Max(3, s.Samples / 10);
        for (var i = 0; i < runs; i++)
        {
            var (id, _) = await api.SubmitAsync("count to 200");
            var started = Api.UnixNow();
            long from = 0;
            while (true)
            {
                var p = await api.PollAsync(id, from);
                var now = Api.UnixNow();
                foreach (var e in p.Events.Where(e => e.Ts >= started)) poll.Add((now - e.Ts) * 1000);
                from = p.NextOffset;
                if (p.Events.Any(e => Api.IsTerminal(e.Type))) break;
            }
        }
        report.Latency("3 event delivery", Tag("appended → seen by polling client"), poll,
            note: $"event ts (worker, when buffered) → poll response; {runs} tasks counting to 200, flush every Worker:EventFlushMs");

        for (var i = 0; i < runs && !sseMissing; i++)
        {
            var (id, _) = await api.SubmitAsync("count to 200");
            sseMissing = !await StreamAsync(api, id, sse);
        }
        if (sseMissing) report.NotAvailable("3 event delivery", Tag("appended → seen by SSE client"), "GET /api/v1/tasks/{id}/events answered 404 (no streaming endpoint yet)");
        else report.Latency("3 event delivery", Tag("appended → seen by SSE client"), sse, Tag("appended → seen by polling client"));
    }

    private static async Task<bool> StreamAsync(Api api, string taskId, Samples samples)
    {
        using var r = api.Request(HttpMethod.Get, $"/api/v1/tasks/{taskId}/events");
        r.Headers.Accept.ParseAdd("text/event-stream");
        using var cts = new CancellationTokenSource(Timeout);
        using var resp = await api.SendAsync(r, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        if (resp.StatusCode == HttpStatusCode.NotFound) return false;
        resp.EnsureSuccessStatusCode();
        var connected = Api.UnixNow();
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(cts.Token));
        string? eventName = null;
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("event:", StringComparison.Ordinal)) eventName = line[6..].Trim();
            if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
            var now = Api.UnixNow();
            string? type = eventName;
            try
            {
                using var doc = JsonDocument.Parse(line[5..]);
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                {
                    if (doc.RootElement.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String) type = t.GetString();
                    if (doc.RootElement.TryGetProperty("ts", out var ts) && ts.ValueKind == JsonValueKind.Number && ts.GetDouble() >= connected)
                        samples.Add((now - ts.GetDouble()) * 1000);
                }
            }
            catch (JsonException) { }
            if (type is not null && Api.IsTerminal(type)) break;
        }
        return true;
    }

    /// <summary>Scenario 6: cancel request sent → the task reads cancelled (the same commit as its task_cancelled event).</summary>
    public async Task CancelAsync()
    {
        var api = d.Client();
        var latency = new Samples();
        var runs = Math.Max(6, s.Samples / 5);
        for (var i = 0; i < runs; i++)
        {
            var (id, _) = await api.SubmitAsync("count to 100000");
            await api.WaitForAsync(id, t => t == "text_chunk" || Api.IsTerminal(t), 1, Timeout);
            var t0 = Stopwatch.GetTimestamp();
            await api.CancelAsync(id);
            var seen = await api.WaitForStatusAsync(id, "cancelled", 0, Timeout);
            latency.Add(Api.Ms(t0, seen));
        }
        report.Latency("6 cancel", Tag("cancel request → task_cancelled visible"), latency, d.Embedded ? null : "MassTransit send→consume",
            note: "task streaming chunks when cancelled; client polls status as fast as it can");
    }
}
