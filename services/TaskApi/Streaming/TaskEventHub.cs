namespace Agents.Micro.TaskApi.Streaming;

/// <summary>
/// Wakes the readers waiting for a task's next events. There is one entry per task that has readers; a notification
/// (from the bus, or the safety re-check) completes the entry's current signal, and each waiting reader then reads the
/// database once. An idle reader costs a parked continuation, not a query.
/// </summary>
public sealed class TaskEventHub
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Tasks that currently have at least one reader.</summary>
    public int WatchedTasks
    {
        get { lock (_lock) return _entries.Count; }
    }

    /// <summary>Starts watching a task; dispose the watch when the reader leaves.</summary>
    public TaskWatch Watch(string taskId)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(taskId, out var e)) _entries[taskId] = e = new Entry(taskId);
            e.Readers++;
            return new TaskWatch(this, e);
        }
    }

    /// <summary>New events exist for the task up to (excluding) <paramref name="nextIdx"/>; a no-op when nobody watches it.</summary>
    public void Notify(string taskId, long nextIdx, bool terminal)
    {
        Entry? e;
        lock (_lock) _entries.TryGetValue(taskId, out e);
        if (e is null) return;
        if (terminal) e.Ended = true;
        e.Wake();
    }

    internal void Release(Entry e)
    {
        lock (_lock)
        {
            if (--e.Readers == 0) _entries.Remove(e.TaskId);
        }
    }

    /// <summary>The tasks with readers parked on a wait, and the lowest offset any of them waits at.</summary>
    internal List<(string TaskId, long WaitingAt)> Waiting()
    {
        lock (_lock)
            return _entries.Values.Select(e => (e.TaskId, e.LowestWaitingOffset)).Where(x => x.LowestWaitingOffset != long.MaxValue).ToList();
    }

    /// <summary>What the safety re-check found in the database: wakes the task's readers if they missed anything.</summary>
    internal void Recheck(string taskId, long waitingAt, long? nextIdx, bool terminal)
    {
        Entry? e;
        lock (_lock) _entries.TryGetValue(taskId, out e);
        if (e is null) return;
        var gone = nextIdx is null;
        if (!gone && !terminal && nextIdx <= waitingAt) return;
        if (gone || terminal) e.Ended = true;
        e.Wake();
    }

    internal sealed class Entry(string taskId)
    {
        private TaskCompletionSource _signal = NewSignal();
        private long _lowestWaitingOffset = long.MaxValue;

        public string TaskId { get; } = taskId;
        public int Readers { get; set; }
        public volatile bool Ended;

        public Task Signal => Volatile.Read(ref _signal).Task;
        public long LowestWaitingOffset => Interlocked.Read(ref _lowestWaitingOffset);

        public void Waiting(long offset)
        {
            var seen = Interlocked.Read(ref _lowestWaitingOffset);
            while (offset < seen)
            {
                var prior = Interlocked.CompareExchange(ref _lowestWaitingOffset, offset, seen);
                if (prior == seen) return;
                seen = prior;
            }
        }

        public void Wake()
        {
            // Reset before completing: readers woken now register their offset again when they next wait.
            Interlocked.Exchange(ref _lowestWaitingOffset, long.MaxValue);
            Interlocked.Exchange(ref _signal, NewSignal()).TrySetResult();
        }

        private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
