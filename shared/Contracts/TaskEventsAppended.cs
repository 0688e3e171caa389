namespace Agents.Micro.Contracts;

/// <summary>Event: new events exist for a task up to (excluding) <paramref name="NextIdx"/>. Wakes waiting readers.</summary>
public sealed record TaskEventsAppended(string TaskId, long NextIdx, bool Terminal);

/// <summary>
/// The notifications of one group commit (or of what a worker committed while its previous notice was being published):
/// one message for many tasks, so that the broker carries one message per commit tick, not one per task.
/// </summary>
public sealed record TaskEventsAppendedBatch(IReadOnlyList<TaskEventsAppended> Items);
