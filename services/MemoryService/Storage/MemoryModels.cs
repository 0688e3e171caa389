namespace Agents.Micro.MemoryService.Storage;

/// <summary>One stored memory.</summary>
public sealed record MemoryRecord(string Id, string UserId, string Content, IReadOnlyList<string> Tags, double CreatedAt);

/// <summary>A memory in a listing; <see cref="Score"/> is its BM25 relevance when the listing is a search.</summary>
public sealed record ScoredMemory(MemoryRecord Memory, double? Score);

/// <summary>One page of a listing or search, and how many memories the whole listing or search holds.</summary>
public sealed record MemoryPage(IReadOnlyList<ScoredMemory> Items, long Total);

/// <summary>A memory to store.</summary>
public sealed record NewMemory(string Content, IReadOnlyList<string>? Tags = null);

/// <summary>The id a memory is stored under, and whether it was already there (an exact duplicate).</summary>
public sealed record SaveResult(string Id, bool Duplicate);
