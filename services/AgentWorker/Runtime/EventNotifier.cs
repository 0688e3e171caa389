using System.Threading.Channels;

namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>
/// Tells readers waiting on a task that new events exist (fire and forget; readers also poll as a fallback). What this
/// worker committed while the previous notice was being published goes out as one message: with group commit, one
/// message per commit batch rather than one per task.
/// </summary>
public sealed class EventNotifier
{
    private readonly Channel<(TaskEventsAppended Notice, ActivityContext Trace)> _pending =
        Channel.CreateUnbounded<(TaskEventsAppended, ActivityContext)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IBus _bus;
    private readonly ILogger<EventNotifier> _log;

    public EventNotifier(IBus bus, ILogger<EventNotifier> log)
    {
        _bus = bus;
        _log = log;
        _ = Task.Run(PublishLoopAsync);
    }

    public void Notify(string taskId, long nextIdx, bool terminal, bool paused = false) =>
        _pending.Writer.TryWrite((new TaskEventsAppended(taskId, nextIdx, terminal, paused), Activity.Current?.Context ?? default));

    private async Task PublishLoopAsync()
    {
        // Whatever span was current when this singleton was created is not this loop's: each publish names its own parent.
        Activity.Current = null;
        var batch = new List<TaskEventsAppended>();
        while (await _pending.Reader.WaitToReadAsync())
        {
            batch.Clear();
            var trace = default(ActivityContext);
            while (batch.Count < 512 && _pending.Reader.TryRead(out var n))
            {
                if (batch.Count == 0) trace = n.Trace;
                batch.Add(n.Notice);
            }
            // The publish goes in the trace of the first commit it announces (as it did when each commit published its own).
            using var activity = trace == default ? null : AgentsTelemetry.Source.StartActivity("events.notify", ActivityKind.Internal, trace);
            activity?.SetTag("agents.tasks", batch.Count);
            try
            {
                // A reader only needs the newest end of each task's log.
                var newest = batch.GroupBy(n => n.TaskId).Select(g => g.MaxBy(n => n.NextIdx)! with { Terminal = g.Any(n => n.Terminal), Paused = g.Any(n => n.Paused) }).ToList();
                // Bounded: a broker that is away delays the notices (they merge meanwhile), it never piles up sends.
                using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                var publish = newest.Count == 1 ? _bus.Publish(newest[0], bounded.Token) : _bus.Publish(new TaskEventsAppendedBatch(newest), bounded.Token);
                await publish.WaitAsync(bounded.Token);
            }
            catch (Exception ex)
            {
                _log.LogDebug("event notification for {Count} task(s) not sent: {Error}", batch.Count, ex.Message);
            }
        }
    }
}
