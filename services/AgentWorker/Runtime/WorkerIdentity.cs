namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>This worker process's name in leases: host, process id and a random suffix (unique across restarts).</summary>
public sealed class WorkerIdentity
{
    public string Id { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
}
