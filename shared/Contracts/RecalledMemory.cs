namespace Agents.Micro.Contracts;

/// <summary>One recalled memory with its relevance score.</summary>
public sealed record RecalledMemory(string Id, string Content, double Score, double CreatedAt);
