namespace Agents.Micro.Contracts;

/// <summary>
/// Event: new events exist for a task up to (excluding) <paramref name="NextIdx"/>. Wakes waiting readers;
/// <paramref name="Terminal"/> (the task ended) and <paramref name="Paused"/> (it waits for a decision) also wake the
/// webhook sender, whose deliveries were committed with them.
/// </summary>
public sealed record TaskEventsAppended(string TaskId, long NextIdx, bool Terminal, bool Paused = false);

/// <summary>
/// The notifications of one group commit (or of what a worker committed while its previous notice was being published):
/// one message for many tasks, so that the broker carries one message per commit tick, not one per task.
/// </summary>
public sealed record TaskEventsAppendedBatch(IReadOnlyList<TaskEventsAppended> Items);
