namespace Agents.Micro.Contracts;

/// <summary>Response to <see cref="SaveMemory"/>.</summary>
public sealed record MemorySaved(string MemoryId, bool Duplicate);
