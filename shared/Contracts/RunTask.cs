namespace Agents.Micro.Contracts;

/// <summary>Command: run (or continue) a task from its last checkpoint. Sent to the agent-worker queue.</summary>
/// <param name="TaskId">The task to run; the worker loads everything else from the task store.</param>
/// <param name="UserId">Owner of the task, carried for logs and traces only.</param>
/// <param name="Reason">Why it was sent: <c>new</c>, <c>redispatch</c>, <c>handoff</c>.</param>
public sealed record RunTask(string TaskId, string UserId, string Reason = "new");
