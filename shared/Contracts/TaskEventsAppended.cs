namespace Agents.Micro.Contracts;

/// <summary>Event: new events exist for a task up to (excluding) <paramref name="NextIdx"/>. Wakes waiting readers.</summary>
public sealed record TaskEventsAppended(string TaskId, long NextIdx, bool Terminal);
