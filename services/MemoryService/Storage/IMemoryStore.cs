namespace Agents.Micro.MemoryService.Storage;

/// <summary>Per-user long-term memories with full-text search. Every call is scoped to one user.</summary>
public interface IMemoryStore
{
    /// <summary>Creates the tables and indexes if they are missing (idempotent, safe for concurrent start-ups).</summary>
    Task EnsureSchemaAsync(CancellationToken ct = default);

    /// <summary>Stores a memory; an exact duplicate (same normalised content) returns the existing id instead.</summary>
    Task<SaveResult> SaveAsync(string userId, NewMemory memory, CancellationToken ct = default);

    /// <summary>Stores many memories in one transaction (imports, the benchmark); results are in input order.</summary>
    Task<IReadOnlyList<SaveResult>> SaveManyAsync(string userId, IReadOnlyList<NewMemory> memories, CancellationToken ct = default);

    /// <summary>The user's memory, or null when it does not exist or belongs to someone else.</summary>
    Task<MemoryRecord?> GetAsync(string userId, string id, CancellationToken ct = default);

    /// <summary>Deletes the user's memory; false when there was none with that id for this user.</summary>
    Task<bool> DeleteAsync(string userId, string id, CancellationToken ct = default);

    /// <summary>The user's memories, newest first.</summary>
    Task<MemoryPage> ListAsync(string userId, int limit, int offset, CancellationToken ct = default);

    /// <summary>The user's memories that match <paramref name="query"/>, most relevant first (BM25).</summary>
    Task<MemoryPage> SearchAsync(string userId, string query, int limit, int offset, CancellationToken ct = default);
}
