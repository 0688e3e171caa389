namespace Agents.Micro.Contracts;

/// <summary>Command: continue an interrupted task after a human decision that the task store already holds.</summary>
public sealed record ResumeTask(string TaskId, string UserId, string InterruptId, string ResponseType);
