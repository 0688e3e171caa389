using Agents.Micro.MemoryService.Options;
using Agents.Micro.MemoryService.Search;
using Agents.Micro.ServiceDefaults.Data;
using Dapper;

namespace Agents.Micro.Bench;

/// <summary>Prints the plan the store builds for a query and PostgreSQL's EXPLAIN ANALYZE of it (for tuning).</summary>
public static class Explain
{
    public static async Task RunAsync(SqlDatabase db, string userId, string query)
    {
        var options = new MemoryOptions();
        var text = TextTokenizer.ForQuery(query);
        await using var c = await db.OpenAsync();
        var (docs, total) = await c.QuerySingleAsync<(long, long)>("SELECT doc_count, total_len FROM memory_user_stats WHERE user_id = @u", new { u = userId });
        var dfs = (await c.QueryAsync<(string, long)>("SELECT term, df FROM memory_term_stats WHERE user_id = @u AND term = ANY(@t)",
            new { u = userId, t = text.Candidates.ToArray() })).ToList();
        var qtf = text.Resolve(dfs.Select(d => d.Item1).ToHashSet().Contains);
        dfs = dfs.Where(d => qtf.ContainsKey(d.Item1)).ToList();
        var plan = Bm25Plan.Create(dfs, qtf, docs, total, options.Search);
        foreach (var t in plan.Terms) Console.WriteLine($"  {t.Term,-12} df {t.Df,7} weight {t.Weight,6:F2} {(t.Common ? "common" : "finds")}");
        var (sql, _, p) = plan.ToSql(userId, 10, 0, "m.tags::text");
        foreach (var line in await c.QueryAsync<string>("EXPLAIN (ANALYZE, BUFFERS) " + sql, p)) Console.WriteLine(line);
    }
}
