namespace Agents.Micro.AgentWorker.Models;

/// <summary>
/// A model call that failed for good: the provider refused it, kept failing after the retries, timed out, or sent a
/// stream that could not be read. The message says which model and why; the loop turns it into <c>task_failed</c>.
/// </summary>
public sealed class ModelCallException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The HTTP status the provider answered with, when it answered.</summary>
    public int? Status { get; init; }
}
