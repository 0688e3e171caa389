using Agents.Micro.Contracts;
using Agents.Micro.TaskApi.Streaming;
using Agents.Micro.TaskApi.Webhooks;
using MassTransit;

namespace Agents.Micro.TaskApi.Consumers;

/// <summary>Wakes this instance's readers of the task. Every TaskApi instance gets every notification (its own temporary queue).</summary>
/// A task that ended or stopped for a decision also wakes the webhook sender (its deliveries were committed with it).
public sealed class TaskEventsAppendedConsumer(TaskEventHub hub, WebhookSender webhooks) : IConsumer<TaskEventsAppended>, IConsumer<TaskEventsAppendedBatch>
{
    public Task Consume(ConsumeContext<TaskEventsAppendedBatch> context)
    {
        foreach (var m in context.Message.Items) Notify(m);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<TaskEventsAppended> context)
    {
        Notify(context.Message);
        return Task.CompletedTask;
    }

    private void Notify(TaskEventsAppended m)
    {
        hub.Notify(m.TaskId, m.NextIdx, m.Terminal);
        if (m.Terminal || m.Paused) webhooks.Nudge();
    }
}
