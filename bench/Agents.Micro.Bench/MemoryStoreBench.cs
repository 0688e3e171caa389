using System.Diagnostics;
using Agents.Micro.MemoryService.Options;
using Agents.Micro.MemoryService.Storage;
using Agents.Micro.ServiceDefaults.Data;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Agents.Micro.Bench;

/// <summary>
/// The memory store alone (no HTTP): loads N synthetic memories for one user and reports search latency percentiles of
/// the real store code; the baseline of scenario 7.
/// Usage: <c>Agents.Micro.Bench memory-store [--count 100000] [--queries 500] [--sqlite] [--no-postgres] [--keep]
/// [--existing &lt;database&gt; [--explain &lt;query&gt;]]</c>. PostgreSQL: AGENTS_TEST_PG (admin connection string).
/// </summary>
public static class MemoryStoreBench
{
public static async Task RunAsync(string[] args)
{

var count = IntArg("--count", 100_000);
var queries = IntArg("--queries", 500);
var keep = args.Contains("--keep");
var adminCs = Environment.GetEnvironmentVariable("AGENTS_TEST_PG") is { Length: > 0 } e
    ? e : "Host=127.0.0.1;Port=5432;Username=agents;Password=agents;Database=postgres";

var existingIndex = Array.IndexOf(args, "--existing");
if (existingIndex >= 0)
{
    var cs = new NpgsqlConnectionStringBuilder(adminCs) { Database = args[existingIndex + 1] }.ConnectionString;
    var explainIndex = Array.IndexOf(args, "--explain");
    if (explainIndex >= 0)
    {
        await using var edb = new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = cs });
        await Explain.RunAsync(edb, "bench-user", args[explainIndex + 1]);
        return;
    }
    await LoadAndSearchAsync("postgres", new DatabaseOptions { Provider = "postgres", ConnectionString = cs }, load: false);
}
else if (!args.Contains("--no-postgres"))
{
    var name = "agents_bench_" + Guid.NewGuid().ToString("N")[..12];
    await Admin($"CREATE DATABASE {name}");
    var cs = new NpgsqlConnectionStringBuilder(adminCs) { Database = name, MaxPoolSize = 20 }.ConnectionString;
    try
    {
        await LoadAndSearchAsync("postgres", new DatabaseOptions { Provider = "postgres", ConnectionString = cs });
    }
    finally
    {
        NpgsqlConnection.ClearAllPools();
        if (!keep) await Admin($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        else Console.WriteLine($"kept database {name}");
    }
}
if (args.Contains("--sqlite"))
{
    var file = Path.Combine(Path.GetTempPath(), "agents-memory-bench", Guid.NewGuid().ToString("N"), "memory.db");
    try
    {
        await LoadAndSearchAsync("sqlite", new DatabaseOptions { Provider = "sqlite", ConnectionString = $"Data Source={file}" });
    }
    finally
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (!keep) Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        else Console.WriteLine($"kept {file}");
    }
}

async Task LoadAndSearchAsync(string label, DatabaseOptions dbOptions, bool load = true)
{
    await using var db = new SqlDatabase(dbOptions);
    var store = new SqlMemoryStore(db, Options.Create(new MemoryOptions()), TimeProvider.System);
    await store.EnsureSchemaAsync();
    const string user = "bench-user";

    // A second user with a few memories: the first user's searches must not be affected by or see them.
    await store.SaveManyAsync("other-user", [new NewMemory("The other user likes oolong tea"), new NewMemory("另一个用户喜欢乌龙茶")]);

    var corpus = new Corpus(seed: 42);
    var loading = Stopwatch.StartNew();
    var stored = 0;
    for (var done = 0; load && done < count; done += 1000)
    {
        var batch = Enumerable.Range(0, Math.Min(1000, count - done)).Select(_ => new NewMemory(corpus.Memory())).ToList();
        stored += (await store.SaveManyAsync(user, batch)).Count(r => !r.Duplicate);
        if ((done + 1000) % 20_000 == 0) Console.WriteLine($"[{label}] loaded {done + 1000:N0} ({loading.Elapsed.TotalSeconds:F0} s)");
    }
    loading.Stop();
    if (load) Console.WriteLine($"[{label}] stored {stored:N0} memories for one user in {loading.Elapsed.TotalSeconds:F1} s ({stored / loading.Elapsed.TotalSeconds:F0}/s)");
    else stored = (int)(await store.ListAsync(user, 1, 0)).Total;

    // Steady state: autovacuum / ANALYZE would have run on a live database; do it now rather than wait for it.
    await using (var c = await db.OpenAsync())
    {
        string[] maintenance = db.IsPostgres
            ? ["VACUUM ANALYZE memories", "VACUUM ANALYZE memory_terms", "VACUUM ANALYZE memory_term_stats", "VACUUM ANALYZE memory_user_stats"]
            : ["ANALYZE"];
        foreach (var sql in maintenance)
        {
            await using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            cmd.CommandTimeout = 600;
            await cmd.ExecuteNonQueryAsync();
        }
    }

    var queryGen = new Corpus(seed: 7);
    var qs = Enumerable.Range(0, queries).Select(_ => queryGen.Query()).ToList();
    foreach (var q in qs.Take(50)) await store.SearchAsync(user, q, 10, 0); // warm-up: JIT, pool, caches

    var times = new List<double>(qs.Count);
    long hits = 0, empty = 0;
    var slowest = ("", 0.0);
    foreach (var q in qs)
    {
        var sw = Stopwatch.StartNew();
        var page = await store.SearchAsync(user, q, 10, 0);
        sw.Stop();
        var ms = sw.Elapsed.TotalMilliseconds;
        times.Add(ms);
        hits += page.Total;
        if (page.Items.Count == 0) empty++;
        if (ms > slowest.Item2) slowest = (q, ms);
    }
    times.Sort();
    double P(double p) => times[Math.Min(times.Count - 1, (int)Math.Ceiling(p / 100 * times.Count) - 1)];
    Console.WriteLine($"[{label}] {qs.Count} searches (top 10) over {stored:N0} memories: p50 {P(50):F2} ms, p90 {P(90):F2} ms, p99 {P(99):F2} ms, max {times[^1]:F2} ms, mean {times.Average():F2} ms");
    Console.WriteLine($"[{label}] mean matches per query {hits / (double)qs.Count:F0}; queries without a match {empty}; slowest: \"{slowest.Item1}\" {slowest.Item2:F1} ms");

    var listTimes = new List<double>();
    for (var i = 0; i < 100; i++)
    {
        var sw = Stopwatch.StartNew();
        await store.ListAsync(user, 20, i * 20);
        listTimes.Add(sw.Elapsed.TotalMilliseconds);
    }
    listTimes.Sort();
    Console.WriteLine($"[{label}] 100 newest-first listings (limit 20): p50 {listTimes[49]:F2} ms, p99 {listTimes[98]:F2} ms");
}

async Task Admin(string sql)
{
    await using var conn = new NpgsqlConnection(adminCs);
    await conn.OpenAsync();
    await using var cmd = new NpgsqlCommand(sql, conn);
    await cmd.ExecuteNonQueryAsync();
}

int IntArg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
}
}
}
