using MassTransit;

namespace Agents.Micro.TaskApi.Consumers;

/// <summary>
/// Notifications fan out: one auto-deleted, non-durable queue per TaskApi instance. They are only hints (the
/// database is the truth and <see cref="Streaming.TaskEventRecheck"/> catches a lost one), so nothing is retried or kept.
/// </summary>
public sealed class TaskEventsAppendedConsumerDefinition : ConsumerDefinition<TaskEventsAppendedConsumer>
{
    public TaskEventsAppendedConsumerDefinition()
    {
        ConcurrentMessageLimit = 64;
        Endpoint(e =>
        {
            e.InstanceId = "-" + Guid.NewGuid().ToString("N")[..10];
            e.Temporary = true;
            e.PrefetchCount = 256;
        });
    }
}
