namespace Agents.Micro.Contracts;

/// <summary>Request to MemoryService: store a memory for the user (exact duplicates return the existing id).</summary>
public sealed record SaveMemory(string UserId, string Content);
