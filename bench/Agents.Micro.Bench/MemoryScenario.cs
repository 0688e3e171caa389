using Agents.Micro.Gateway.Tokens;
using System.Diagnostics;
using Agents.Micro.MemoryService.Options;
using Agents.Micro.MemoryService.Storage;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;
using Microsoft.Extensions.Options;

namespace Agents.Micro.Bench;

/// <summary>
/// Scenario 7: memory search over N memories of one user, through the gateway (→ MemoryService) and, as the baseline,
/// the same store code called in-process. Seeding through the API would take minutes (one request per memory), so the
/// memories are bulk-loaded with the store's own <c>SaveManyAsync</c> (1,000 per transaction) into MemoryService's database.
/// </summary>
public sealed class MemoryScenario(Deployment d, Settings s, Report report)
{
    private const string User = "bench-memory";

    public async Task RunAsync()
    {
        await using var db = new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = d.ConnectionString });
        var store = new SqlMemoryStore(db, Options.Create(new MemoryOptions()), TimeProvider.System);
        var corpus = new Corpus(seed: 42);
        var loading = Stopwatch.StartNew();
        for (var done = 0; done < s.MemoryCount; done += 1000)
            await store.SaveManyAsync(User, Enumerable.Range(0, Math.Min(1000, s.MemoryCount - done)).Select(_ => new NewMemory(corpus.Memory())).ToList());
        Console.WriteLine($"    loaded {s.MemoryCount:N0} memories in {loading.Elapsed.TotalSeconds:F0} s");
        await using (var c = await db.OpenAsync())
        {
            foreach (var table in new[] { "memories", "memory_terms", "memory_term_stats", "memory_user_stats" })
            {
                await using var cmd = c.CreateCommand();
                cmd.CommandText = "VACUUM ANALYZE " + table; // steady state: what autovacuum does on a live database
                cmd.CommandTimeout = 600;
                await cmd.ExecuteNonQueryAsync();
            }
        }
        var tokens = new TokenStore(db);
        var api = new Api(d.Gateway.BaseUrl, await tokens.CreateAsync(User, "bench", false));
        var queryGen = new Corpus(seed: 7);
        var queries = Enumerable.Range(0, s.Samples).Select(_ => queryGen.Query()).ToList();
        foreach (var q in queries.Take(30))
        {
            await store.SearchAsync(User, q, 10, 0);
            await SearchAsync(api, q);
        }
        Samples direct = new(), http = new();
        foreach (var q in queries)
        {
            var t0 = Stopwatch.GetTimestamp();
            await store.SearchAsync(User, q, 10, 0);
            direct.Add(Api.Ms(t0, Stopwatch.GetTimestamp()));
            t0 = Stopwatch.GetTimestamp();
            await SearchAsync(api, q);
            http.Add(Api.Ms(t0, Stopwatch.GetTimestamp()));
        }
        var size = $"{s.MemoryCount:N0} memories";
        report.Latency("7 memory search", $"store SearchAsync in-process, {size}", direct, note: "top 10; English/Chinese/mixed queries");
        report.Latency("7 memory search", $"GET /api/v1/memories?q= through the gateway, {size}", http, $"store SearchAsync in-process, {size}");
    }

    private static async Task SearchAsync(Api api, string q)
    {
        using var r = api.Request(HttpMethod.Get, $"/api/v1/memories?q={Uri.EscapeDataString(q)}&limit=10");
        using var resp = await api.SendAsync(r);
        resp.EnsureSuccessStatusCode();
    }
}
