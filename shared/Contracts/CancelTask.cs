namespace Agents.Micro.Contracts;

/// <summary>
/// Command: stop a task. Published (fan-out) to every worker instance because only the worker that
/// holds the task's lease can stop its model stream or tool; the others ignore it. The task row's
/// <c>cancel_requested</c> flag is the fallback a worker checks on every heartbeat.
/// </summary>
public sealed record CancelTask(string TaskId, string Reason);
