using System.Collections.Concurrent;

namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>Why a run was stopped from outside.</summary>
public enum StopReason { None, UserCancel, LeaseLost, Shutdown, Timeout }

/// <summary>A run in progress on this worker and the switch that stops it.</summary>
public sealed class RunHandle(string taskId) : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    public string TaskId { get; } = taskId;
    public StopReason Reason { get; private set; }
    public CancellationToken Token => _cts.Token;
    /// <summary>The <c>traceparent</c> of the request that created the task, for a cancel to link to.</summary>
    public string? TraceParent { get; set; }

    public void Stop(StopReason reason)
    {
        if (Reason == StopReason.None) Reason = reason;
        try { _cts.Cancel(); }
        catch (ObjectDisposedException) { }
    }

    public void Dispose() => _cts.Dispose();
}

/// <summary>The runs this worker holds, so that a cancel or a shutdown can reach them.</summary>
public sealed class RunningTasks
{
    private readonly ConcurrentDictionary<string, RunHandle> _runs = new();

    /// <summary>Set when the host begins to stop: no new run starts.</summary>
    public bool Draining => Volatile.Read(ref _draining);
    private bool _draining;

    public int Count => _runs.Count;

    /// <summary>The runs held now.</summary>
    public IReadOnlyCollection<RunHandle> Handles => _runs.Values.ToList();

    public RunHandle Register(string taskId)
    {
        var h = new RunHandle(taskId);
        _runs[taskId] = h;
        // A run claimed while the host began to stop registers after StopAll looked: stop it here, or it would keep
        // its lease until expiry instead of being handed back.
        if (Draining) h.Stop(StopReason.Shutdown);
        return h;
    }

    public void Unregister(RunHandle h) => _runs.TryRemove(new KeyValuePair<string, RunHandle>(h.TaskId, h));

    public bool Stop(string taskId, StopReason reason) => Stop(taskId, reason, out _);

    /// <summary>Stops the run if this worker holds it, and hands back its handle (for its trace context).</summary>
    public bool Stop(string taskId, StopReason reason, out RunHandle? handle)
    {
        if (!_runs.TryGetValue(taskId, out handle)) return false;
        handle.Stop(reason);
        return true;
    }

    public void StopAll(StopReason reason)
    {
        Volatile.Write(ref _draining, true);
        foreach (var h in _runs.Values) h.Stop(reason);
    }

    public async Task WaitEmptyAsync(TimeSpan max)
    {
        var until = DateTime.UtcNow + max;
        while (!_runs.IsEmpty && DateTime.UtcNow < until) await Task.Delay(50);
    }
}
