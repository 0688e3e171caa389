using Agents.Micro.Contracts;
using MassTransit;

namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>Tells readers waiting on a task that new events exist (fire and forget; readers also poll as a fallback).</summary>
public sealed class EventNotifier(IBus publish, ILogger<EventNotifier> log)
{
    public void Notify(string taskId, long nextIdx, bool terminal)
    {
        _ = Task.Run(async () =>
        {
            try { await publish.Publish(new TaskEventsAppended(taskId, nextIdx, terminal)); }
            catch (Exception ex) { log.LogDebug("event notification for {TaskId} not sent: {Error}", taskId, ex.Message); }
        });
    }
}
