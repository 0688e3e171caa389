using System.Globalization;
using System.Text;
using Agents.Micro.MemoryService.Options;
using Dapper;

namespace Agents.Micro.MemoryService.Search;

/// <summary>
/// One BM25 query over the <c>memory_terms</c> postings, planned from the user's statistics:
/// <c>score(d) = Σ idf(t) · qtf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|d|/avgdl))</c> with Lucene's
/// <c>idf = ln(1 + (N − df + 0.5)/(df + 0.5))</c>.
/// <para>
/// Memories are found through the selective query terms (one index range read each, summed in SQL); the common terms
/// (see <see cref="SearchOptions.CommonTermRatio"/>) are then looked up only for those memories, one primary-key probe
/// per memory and common term. The cost of a query therefore follows the size of its rarer terms' posting lists rather
/// than the size of the store.
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
        var terms = dfs.OrderBy(t => t.Df).ThenBy(t => t.Term, StringComparer.Ordinal)
            .Select(t => new WeightedTerm(t.Term, t.Df, Idf(docs, t.Df) * queryTf.GetValueOrDefault(t.Term, 1) * (options.K1 + 1), t.Df > cutoff))
            .ToList();
        // A query of common terms only still has to find something: then every term finds memories.
        if (terms.All(t => t.Common)) terms = terms.Select(t => t with { Common = false }).ToList();
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
        var joins = new StringBuilder();
        for (var i = 0; i < common.Count; i++)
        {
            p.Add($"c{i}", common[i].Term);
            p.Add($"cw{i}", common[i].Weight);
            score.Append(CultureInfo.InvariantCulture,
                $" + COALESCE(@cw{i} * c{i}.tf / (c{i}.tf + @k1 * {string.Format(CultureInfo.InvariantCulture, norm, "s")}), 0)");
            joins.Append(CultureInfo.InvariantCulture, $" LEFT JOIN memory_terms c{i} ON c{i}.user_id = @u AND c{i}.term = @c{i} AND c{i}.seq = s.seq");
        }

        var page = $"""
            WITH {s},
            r AS (SELECT s.seq, {score} AS score FROM s{joins}),
            page AS (SELECT seq, score, COUNT(*) OVER () AS total FROM r ORDER BY score DESC, seq DESC LIMIT @limit OFFSET @offset)
            SELECT m.id AS Id, m.user_id AS UserId, m.content AS Content, {tagsColumn} AS Tags, m.created_at AS CreatedAt,
                   page.score AS Score, page.total AS Total
            FROM page JOIN memories m ON m.seq = page.seq
            ORDER BY page.score DESC, page.seq DESC
            """;
        var count = $"WITH {s} SELECT COUNT(*) FROM s";
        return (page, count, p);
    }
}
