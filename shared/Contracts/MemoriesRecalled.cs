namespace Agents.Micro.Contracts;

/// <summary>Response to <see cref="RecallMemories"/>.</summary>
public sealed record MemoriesRecalled(IReadOnlyList<RecalledMemory> Items);
