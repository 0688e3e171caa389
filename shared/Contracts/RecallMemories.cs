namespace Agents.Micro.Contracts;

/// <summary>Request to MemoryService: the user's memories most relevant to <paramref name="Query"/>.</summary>
public sealed record RecallMemories(string UserId, string Query, int Limit);
