using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.MemoryService.Options;

/// <summary>Limits and ranking parameters of the memory store (section <c>Memory</c>).</summary>
public sealed class MemoryOptions
{
    public const string SectionName = "Memory";

    /// <summary>Longest memory accepted, in characters; longer content is refused with 400.</summary>
    [Range(1, 1_000_000)]
    public int MaxContentLength { get; set; } = 8000;

    /// <summary>Most tags one memory may carry.</summary>
    [Range(0, 100)]
    public int MaxTags { get; set; } = 20;

    /// <summary>Longest tag, in characters.</summary>
    [Range(1, 256)]
    public int MaxTagLength { get; set; } = 64;

    /// <summary>Longest search query, in characters.</summary>
    [Range(1, 10_000)]
    public int MaxQueryLength { get; set; } = 1000;

    /// <summary>Most memories one bus recall may return.</summary>
    [Range(1, 100)]
    public int MaxRecallLimit { get; set; } = 50;

    public SearchOptions Search { get; set; } = new();
}

/// <summary>BM25 parameters. The defaults are the usual ones (Lucene, Elasticsearch).</summary>
public sealed class SearchOptions
{
    [Range(0.0, 10.0)]
    public double K1 { get; set; } = 1.2;

    [Range(0.0, 1.0)]
    public double B { get; set; } = 0.75;

    /// <summary>
    /// A query term that occurs in more than this share of the user's memories (and in more than
    /// <see cref="CommonTermMinDocs"/> of them) is "common": it adds to the score of memories found through the
    /// rarer query terms but does not find memories by itself — Elasticsearch's <c>cutoff_frequency</c>. This bounds
    /// the work per query: a word like "like" or a bigram like "我喜" can occur in half of a large store, and its
    /// BM25 weight is small anyway. A query made only of common terms still searches with all of them.
    /// </summary>
    [Range(0.0, 1.0)]
    public double CommonTermRatio { get; set; } = 0.05;

    /// <summary>Below this many occurrences a term is never "common" (small stores rank exactly).</summary>
    [Range(0, int.MaxValue)]
    public int CommonTermMinDocs { get; set; } = 2000;

    /// <summary>
    /// Most postings one query reads to find memories: the rarest terms are read first, the terms that would go past
    /// this budget are treated as common. The rarest term is always read, whatever its size.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int MaxScoredPostings { get; set; } = 15_000;

    /// <summary>
    /// How many of the best memories (by the rarer terms) the common terms re-score — Elasticsearch's rescore window.
    /// Deeper pages widen it to <c>offset + limit</c>.
    /// </summary>
    [Range(1, 100_000)]
    public int RescoreWindow { get; set; } = 200;
}
