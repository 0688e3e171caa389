namespace Agents.Micro.TaskApi.Streaming;

/// <summary>One reader's interest in one task.</summary>
public sealed class TaskWatch : IDisposable
{
    private readonly TaskEventHub _hub;
    private readonly TaskEventHub.Entry _entry;
    private int _disposed;

    internal TaskWatch(TaskEventHub hub, TaskEventHub.Entry entry)
    {
        _hub = hub;
        _entry = entry;
    }

    /// <summary>
    /// Take this before reading the database: it completes on the next notification, so one that arrives between the
    /// read and the wait is not lost.
    /// </summary>
    public Task Signal => _entry.Signal;

    /// <summary>
    /// The task ended (or was deleted), as a notification or the re-check saw. Read it together with
    /// <see cref="Signal"/>, before the database read: a reader that then finds no events has seen everything.
    /// </summary>
    public bool Ended => _entry.Ended;

    /// <summary>
    /// Waits for <paramref name="signal"/> at most <paramref name="timeout"/>, registering <paramref name="offset"/>
    /// for the safety re-check. False on timeout.
    /// </summary>
    public async Task<bool> WaitAsync(Task signal, long offset, TimeSpan timeout, CancellationToken ct)
    {
        _entry.Waiting(offset);
        if (signal.IsCompleted) return true;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(timeout, cts.Token);
        var first = await Task.WhenAny(signal, delay);
        // Cancel the timer when the signal won, so a thousand woken readers do not leave a thousand timers behind.
        await cts.CancelAsync();
        ct.ThrowIfCancellationRequested();
        return first == signal;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _hub.Release(_entry);
    }
}
