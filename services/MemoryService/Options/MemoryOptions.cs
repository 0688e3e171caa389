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

    public EmbeddingOptions Embeddings { get; set; } = new();
}

/// <summary>
/// An OpenAI-compatible <c>/embeddings</c> endpoint (OpenAI, vLLM, Ollama, …). When <see cref="Endpoint"/> is set,
/// memories are embedded as they are written and search blends cosine similarity into the BM25 ranking; when it is
/// empty (the default) search is BM25 only. A failing endpoint never fails a write or a search: they fall back to BM25.
/// </summary>
public sealed class EmbeddingOptions
{
    /// <summary>Base URL up to and including the API version, e.g. <c>https://api.openai.com/v1</c>; <c>/embeddings</c> is appended.</summary>
    public string? Endpoint { get; set; }

    public string Model { get; set; } = "text-embedding-3-small";

    /// <summary>Name of the environment variable that holds the API key (the key itself never sits in configuration).</summary>
    public string? ApiKeyEnv { get; set; }

    /// <summary>Share of the final score that comes from cosine similarity (the rest is BM25 scaled to 0..1).</summary>
    [Range(0.0, 1.0)]
    public double Weight { get; set; } = 0.4;

    /// <summary>Memories with a lower cosine similarity are not added by the vector side alone.</summary>
    [Range(-1.0, 1.0)]
    public double MinSimilarity { get; set; } = 0.35;

    /// <summary>
    /// Up to this many memories per user, every memory's vector is compared with the query, so that memories sharing no
    /// word with it can be found; above it, only the BM25 candidates are re-ranked (no vector index in the databases here).
    /// </summary>
    [Range(0, 1_000_000)]
    public int FullScanMaxMemories { get; set; } = 5000;

    [Range(1, 120)]
    public int TimeoutSeconds { get; set; } = 10;

    public bool Enabled => !string.IsNullOrWhiteSpace(Endpoint);
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
