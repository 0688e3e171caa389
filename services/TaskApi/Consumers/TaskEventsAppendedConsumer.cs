using Agents.Micro.Contracts;
using Agents.Micro.TaskApi.Streaming;
using MassTransit;

namespace Agents.Micro.TaskApi.Consumers;

/// <summary>Wakes this instance's readers of the task. Every TaskApi instance gets every notification (its own temporary queue).</summary>
public sealed class TaskEventsAppendedConsumer(TaskEventHub hub) : IConsumer<TaskEventsAppended>, IConsumer<TaskEventsAppendedBatch>
{
    public Task Consume(ConsumeContext<TaskEventsAppendedBatch> context)
    {
        foreach (var m in context.Message.Items) hub.Notify(m.TaskId, m.NextIdx, m.Terminal);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<TaskEventsAppended> context)
    {
        var m = context.Message;
        hub.Notify(m.TaskId, m.NextIdx, m.Terminal);
        return Task.CompletedTask;
    }
}
