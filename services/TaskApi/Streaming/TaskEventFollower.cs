using System.Runtime.CompilerServices;

namespace Agents.Micro.TaskApi.Streaming;

/// <summary>
/// Follows one task's event log from an offset: reads what exists, then parks on the hub until it is woken, and reads
/// again — once per wake-up. SSE, WebSocket and long polling share it.
/// </summary>
public sealed class TaskEventFollower(ITaskStore store, TaskEventHub hub, IOptions<StreamingOptions> options)
{
    public const int BatchSize = 500;

    /// <summary>
    /// Batches of events from <paramref name="from"/> on, ending with the terminal event. An empty batch means the task
    /// was quiet for <c>Streaming:KeepAliveSeconds</c> (time for a keep-alive). Ends early when the task is deleted, or
    /// when <paramref name="taskEnded"/> and nothing is left to read (an offset past the end of a finished task).
    /// </summary>
    public async IAsyncEnumerable<IReadOnlyList<StoredEvent>> FollowAsync(string taskId, long from, bool taskEnded,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var keepAlive = TimeSpan.FromSeconds(options.Value.KeepAliveSeconds);
        using var watch = hub.Watch(taskId);
        while (true)
        {
            var signal = watch.Signal;
            var ended = taskEnded || watch.Ended;
            var events = await store.ReadEventsAsync(taskId, from, BatchSize, ct);
            if (events.Count > 0)
            {
                var terminal = IndexOfTerminal(events);
                if (terminal >= 0)
                {
                    yield return terminal == events.Count - 1 ? events : events.Take(terminal + 1).ToList();
                    yield break;
                }
                yield return events;
                from = events[^1].Idx + 1;
                continue;
            }
            if (ended) yield break;
            // Quiet: keep-alives while parked, but no database reads until something wakes us.
            while (!await watch.WaitAsync(signal, from, keepAlive, ct)) yield return [];
        }
    }

    /// <summary>
    /// Waits up to <paramref name="wait"/> for an event at or after <paramref name="from"/> to exist. True as soon as one
    /// does; false after the wait, or when the task ended (or was deleted) with none.
    /// </summary>
    public async Task<bool> WaitForEventsAsync(string taskId, long from, TimeSpan wait, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + wait;
        using var watch = hub.Watch(taskId);
        while (true)
        {
            var signal = watch.Signal;
            var ended = watch.Ended;
            if ((await store.ReadEventsAsync(taskId, from, 1, ct)).Count > 0) return true;
            var left = deadline - DateTime.UtcNow;
            if (ended || left <= TimeSpan.Zero || !await watch.WaitAsync(signal, from, left, ct)) return false;
        }
    }

    private static int IndexOfTerminal(IReadOnlyList<StoredEvent> events)
    {
        for (var i = 0; i < events.Count; i++)
            if (EventTypes.IsTerminal(events[i].Type)) return i;
        return -1;
    }
}
