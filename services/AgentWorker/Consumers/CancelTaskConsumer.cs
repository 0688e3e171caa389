using Agents.Micro.AgentWorker.Runtime;
using Agents.Micro.Contracts;
using MassTransit;

namespace Agents.Micro.AgentWorker.Consumers;

/// <summary>Every worker gets every cancel (its own temporary queue); the one running the task stops it at once.</summary>
public sealed class CancelTaskConsumer(RunningTasks running, ILogger<CancelTaskConsumer> log) : IConsumer<CancelTask>
{
    public Task Consume(ConsumeContext<CancelTask> context)
    {
        if (running.Stop(context.Message.TaskId, StopReason.UserCancel))
            log.LogInformation("cancelling task {TaskId}: {Reason}", context.Message.TaskId, context.Message.Reason);
        return Task.CompletedTask;
    }
}
