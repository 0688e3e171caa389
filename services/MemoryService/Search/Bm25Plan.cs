using System.Globalization;
using System.Text;
using Dapper;

namespace Agents.Micro.MemoryService.Search;

/// <summary>
/// One BM25 query over the <c>memory_terms</c> postings, planned from the user's statistics:
/// <c>score(d) = Σ idf(t) · qtf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|d|/avgdl))</c> with Lucene's
/// <c>idf = ln(1 + (N − df + 0.5)/(df + 0.5))</c>.
/// <para>
/// Memories are found through the selective query terms (one index range read each, summed in SQL); the common terms
/// (see <see cref="SearchOptions.CommonTermRatio"/> and <see cref="SearchOptions.MaxScoredPostings"/>) then re-score
/// only the best <see cref="SearchOptions.RescoreWindow"/> of those memories, one primary-key probe per memory and
/// common term. The cost of a query is therefore bounded by the postings budget and the window, not by the size of
/// the store.
/// </para>
/// </summary>
public sealed class Bm25Plan
{
    /// <summary>A query term with its weight <c>idf · qtf · (k1 + 1)</c>.</summary>
    public sealed record WeightedTerm(string Term, long Df, double Weight, bool Common);

    private readonly SearchOptions _options;

    private Bm25Plan(IReadOnlyList<WeightedTerm> terms, double avgLength, SearchOptions options)
    {
        Terms = terms;
        AverageLength = avgLength;
        _options = options;
    }

    public IReadOnlyList<WeightedTerm> Terms { get; }

    public double AverageLength { get; }

    public static double Idf(long docs, long df)
    {
        df = Math.Clamp(df, 0, docs);
        return Math.Log(1 + (docs - df + 0.5) / (df + 0.5));
    }

    /// <param name="dfs">Document frequencies of the query terms that occur in the user's memories.</param>
    /// <param name="queryTf">How often each term occurs in the query.</param>
    public static Bm25Plan Create(IEnumerable<(string Term, long Df)> dfs, IReadOnlyDictionary<string, int> queryTf,
        long docs, long totalLength, SearchOptions options)
    {
        var cutoff = Math.Max(options.CommonTermMinDocs, options.CommonTermRatio * docs);
        var terms = new List<WeightedTerm>();
        long budget = options.MaxScoredPostings;
        foreach (var (term, df) in dfs.OrderBy(t => t.Df).ThenBy(t => t.Term, StringComparer.Ordinal))
        {
            // Rarest first: the first term always finds memories (a query of common terms only must still find
            // something); later ones while they are rare enough and the postings budget lasts.
            var finds = terms.Count == 0 || (df <= cutoff && df <= budget);
            if (finds) budget -= df;
            terms.Add(new WeightedTerm(term, df, Idf(docs, df) * queryTf.GetValueOrDefault(term, 1) * (options.K1 + 1), !finds));
        }
        return new Bm25Plan(terms, Math.Max(1.0, (double)totalLength / Math.Max(1, docs)), options);
    }

    /// <summary>The page query (rows with score and the total number of matches) and a count-only query.</summary>
    public (string PageSql, string CountSql, DynamicParameters Parameters) ToSql(string userId, int limit, int offset, string tagsColumn)
    {
        var p = new DynamicParameters();
        p.Add("u", userId);
        p.Add("k1", _options.K1);
        p.Add("b", _options.B);
        p.Add("avgdl", AverageLength);
        p.Add("limit", limit);
        p.Add("offset", offset);

        var selective = Terms.Where(t => !t.Common).ToList();
        var common = Terms.Where(t => t.Common).ToList();
        const string norm = "(1 - @b + @b * {0}.doc_len / @avgdl)";

        var weight = new StringBuilder();
        if (selective.Count == 1)
        {
            weight.Append("@w0");
        }
        else
        {
            weight.Append("CASE t.term");
            for (var i = 0; i < selective.Count; i++) weight.Append(CultureInfo.InvariantCulture, $" WHEN @t{i} THEN @w{i}");
            weight.Append(" ELSE 0 END");
        }
        for (var i = 0; i < selective.Count; i++)
        {
            p.Add($"t{i}", selective[i].Term);
            p.Add($"w{i}", selective[i].Weight);
        }
        var inList = string.Join(", ", selective.Select((_, i) => $"@t{i}"));

        var s = $"""
            s AS (
                SELECT t.seq, t.doc_len, SUM({weight} * t.tf / (t.tf + @k1 * {string.Format(CultureInfo.InvariantCulture, norm, "t")})) AS score
                FROM memory_terms t
                WHERE t.user_id = @u AND t.term IN ({inList})
                GROUP BY t.seq, t.doc_len)
            """;

        var score = new StringBuilder("s.score");
        for (var i = 0; i < common.Count; i++)
        {
            p.Add($"c{i}", common[i].Term);
            p.Add($"cw{i}", common[i].Weight);
            // A correlated subquery, not a join: it is always a primary-key probe per memory of the window. As a join,
            // PostgreSQL may prefer to hash the common term's whole posting list, which is what this plan avoids.
            score.Append(CultureInfo.InvariantCulture,
                $" + COALESCE((SELECT @cw{i} * c.tf / (c.tf + @k1 * {string.Format(CultureInfo.InvariantCulture, norm, "s")}) FROM memory_terms c WHERE c.user_id = @u AND c.term = @c{i} AND c.seq = s.seq), 0)");
        }

        // Without common terms the ranking is exact; with them, only the best RescoreWindow memories by the rarer
        // terms are re-scored (each common term costs one primary-key probe per memory in the window).
        string ranked;
        if (common.Count == 0)
        {
            ranked = "r AS (SELECT seq, score, COUNT(*) OVER () AS total FROM s)";
        }
        else
        {
            p.Add("window", (int)Math.Min(int.MaxValue, Math.Max(_options.RescoreWindow, (long)offset + limit)));
            ranked = $"""
                w AS (SELECT seq, doc_len, score, COUNT(*) OVER () AS total FROM s ORDER BY score DESC, seq DESC LIMIT @window),
                r AS (SELECT s.seq, s.total, {score} AS score FROM w s)
                """;
        }

        var page = $"""
            WITH {s},
            {ranked},
            page AS (SELECT seq, score, total FROM r ORDER BY score DESC, seq DESC LIMIT @limit OFFSET @offset)
            SELECT m.id AS Id, m.user_id AS UserId, m.content AS Content, {tagsColumn} AS Tags, m.created_at AS CreatedAt,
                   page.score AS Score, page.total AS Total
            FROM page JOIN memories m ON m.seq = page.seq
            ORDER BY page.score DESC, page.seq DESC
            """;
        var count = $"WITH {s} SELECT COUNT(*) FROM s";
        return (page, count, p);
    }
}
