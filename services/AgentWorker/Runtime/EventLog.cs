using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Usage;

namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>
/// Buffers a run's events and writes them in batches: one transaction per batch (fenced by the lease), at most
/// <c>Worker:EventFlushMs</c> apart while streaming, and always at a step boundary together with the checkpoint.
/// </summary>
/// <param name="commit">Where a batch goes: the worker's <see cref="GroupCommitter"/> (with other tasks' batches), or by default the store on its own.</param>
public sealed class EventLog(ITaskStore store, TaskLease lease, int flushMs, Action<long, bool, bool>? onCommitted = null,
    Func<CommitRequest, CancellationToken, Task<long>>? commit = null)
{
    private readonly List<NewEvent> _buffer = [];
    private readonly List<ModelUsage> _usage = [];
    private readonly Stopwatch _sinceFlush = Stopwatch.StartNew();

    public static readonly JsonSerializerOptions Json = TaskOptions.Json;

    public TaskLease Lease => lease;

    /// <summary>The index the next event gets. Only the lease holder appends, so it is known exactly from the claim on.</summary>
    public long NextIndex { get; set; }

    /// <summary>Limits of one task's log (<c>Worker:MaxEventsPerTask</c>, <c>Worker:MaxEventBytesPerTask</c>); 0 = none.</summary>
    public (long Events, long Bytes) Limits { get; init; }

    /// <summary>Bytes of event data written so far (from the checkpoint on a restart) plus what is buffered.</summary>
    public long Bytes { get; set; }

    /// <summary>
    /// Buffers an event. Past a limit, only an ending or an interrupt is still taken (so the task can end saying why);
    /// anything else throws <see cref="TaskLimitExceededException"/>.
    /// </summary>
    public void Add(string type, object data)
    {
        var json = JsonSerializer.Serialize(data, Json);
        var ending = type is EventTypes.TaskCompleted or EventTypes.TaskFailed or EventTypes.TaskCancelled or EventTypes.Interrupt;
        if (!ending)
        {
            if (Limits.Events > 0 && NextIndex + _buffer.Count >= Limits.Events)
                throw new TaskLimitExceededException($"the task reached its limit of {Limits.Events} events (Worker:MaxEventsPerTask)");
            if (Limits.Bytes > 0 && Bytes + json.Length > Limits.Bytes)
                throw new TaskLimitExceededException($"the task reached its limit of {Limits.Bytes} bytes of events (Worker:MaxEventBytesPerTask)");
        }
        Bytes += json.Length;
        _buffer.Add(new NewEvent(type, json, UnixTime.Now()));
    }

    /// <summary>A model call's tokens, written with the next commit (the usage store sums them for reports and budgets).</summary>
    public void AddUsage(ModelUsage usage) => _usage.Add(usage);

    /// <summary>Tokens (in + out) of the model calls not yet written.</summary>
    public long PendingUsageTokens => _usage.Sum(u => (long)u.InputTokens + u.OutputTokens);

    public async Task FlushIfDueAsync(CancellationToken ct)
    {
        if (_buffer.Count > 0 && (_sinceFlush.ElapsedMilliseconds >= flushMs || _buffer.Count >= 256))
            await CommitAsync(ct: ct);
    }

    /// <summary>Writes the buffered events with an optional transition, checkpoint and history in one transaction.</summary>
    public async Task CommitAsync(TaskTransition? transition = null, AgentState? checkpoint = null,
        IReadOnlyList<HistoryMessage>? history = null, CancellationToken ct = default)
    {
        using var activity = AgentsTelemetry.Source.StartActivity("events.commit");
        activity?.SetTag("agents.task_id", lease.TaskId);
        activity?.SetTag("agents.events", _buffer.Count);
        long next;
        List<NewEvent> batch;
        try
        {
            (next, batch) = await CommitBufferAsync(transition, checkpoint, history, ct);
        }
        catch (LogMovedException moved) when (_uncertain > 0 && moved.NextIdx > NextIndex && moved.NextIdx - NextIndex <= _uncertain)
        {
            // A commit whose answer never came (a dropped connection after COMMIT) did land: the first events of the
            // buffer (commits always write it from its head) are in the log. Keep them once — drop them from the
            // buffer — and write only what came after.
            _buffer.RemoveRange(0, (int)(moved.NextIdx - NextIndex));
            _usage.Clear(); // it went with them
            NextIndex = moved.NextIdx;
            _uncertain = 0;
            (next, batch) = await CommitBufferAsync(transition, checkpoint, history, ct);
        }
        _buffer.Clear();
        _usage.Clear();
        _uncertain = 0;
        _pendingCheckpoint = null;
        _sinceFlush.Restart();
        NextIndex = next;
        AgentMetrics.EventsAppended.Add(batch.Count);
        // Only an ending wakes readers as "finished": an interrupt pauses the task, and its readers keep following it.
        onCommitted?.Invoke(next, transition is TaskTransition.Complete or TaskTransition.Fail or TaskTransition.Cancel, transition is TaskTransition.Interrupt);
    }

    private (long Step, string StateJson)? _pendingCheckpoint;

    /// <summary>
    /// Snapshots <paramref name="state"/> as it is now (its log position: after what is buffered now) and writes it with
    /// the next commit, whatever that carries — the first flush of a stream, or the step's end — instead of in a commit
    /// of its own. A later explicit checkpoint replaces it.
    /// </summary>
    public void CheckpointWithNextCommit(AgentState state)
    {
        state.LogIndex = NextIndex + _buffer.Count;
        state.EventBytes = Bytes;
        _pendingCheckpoint = (state.Step, state.ToJson());
    }

    /// <summary>Events at the head of the buffer whose commit failed without a clear answer: they may be in the log.</summary>
    private int _uncertain;

    /// <summary>One commit of the whole buffer, fenced by the lease and by where the log must end.</summary>
    private async Task<(long Next, List<NewEvent> Batch)> CommitBufferAsync(TaskTransition? transition, AgentState? checkpoint,
        IReadOnlyList<HistoryMessage>? history, CancellationToken ct)
    {
        var batch = _buffer.ToList();
        if (checkpoint is not null)
        {
            checkpoint.LogIndex = NextIndex + batch.Count;
            checkpoint.EventBytes = Bytes;
        }
        try
        {
            var request = new CommitRequest(lease, batch, transition, checkpoint is null ? _pendingCheckpoint : (checkpoint.Step, checkpoint.ToJson()), history, NextIndex,
                _usage.Count > 0 ? _usage.ToList() : null);
            var next = commit is null ? await store.CommitOneAsync(request, ct) : await commit(request, ct);
            return (next, batch);
        }
        catch (Exception ex) when (ex is not (LeaseLostException or LogMovedException))
        {
            _uncertain = batch.Count;
            throw;
        }
    }

    /// <summary>
    /// Drops buffered events that end or pause the run (task_completed, task_failed, task_cancelled, interrupt). Called
    /// before writing a different ending after the commit that carried one failed: the log must never hold two endings,
    /// nor an ending the task's status does not have.
    /// </summary>
    public void DiscardEndings() =>
        _buffer.RemoveAll(e => e.Type is EventTypes.TaskCompleted or EventTypes.TaskFailed or EventTypes.TaskCancelled or EventTypes.Interrupt);

    /// <summary>
    /// Forgets the first checkpoint still waiting for a commit. For a run that ends (failed, cancelled): it does not need
    /// it, and if the database refused it, the ending must not be refused again with it. (A hand-back keeps it: the
    /// events it writes are continued from it.)
    /// </summary>
    public void DropPendingCheckpoint() => _pendingCheckpoint = null;

    public int Pending => _buffer.Count;
}

/// <summary>A task wrote as much as one task may (<see cref="EventLog.Limits"/>): it ends with <c>task_failed</c>.</summary>
public sealed class TaskLimitExceededException(string message) : Exception(message);
