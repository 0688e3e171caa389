using Agents.Micro.AgentWorker.Runtime;

namespace Agents.Micro.AgentWorker.Consumers;

/// <summary>Every worker gets every cancel (its own temporary queue); the one running the task stops it at once.</summary>
public sealed class CancelTaskConsumer(RunningTasks running, ILogger<CancelTaskConsumer> log) : IConsumer<CancelTask>
{
    public Task Consume(ConsumeContext<CancelTask> context)
    {
        if (running.Stop(context.Message.TaskId, StopReason.UserCancel, out var handle))
        {
            // Within the cancel request's trace, linked to the trace where the task began.
            using var activity = AgentsTelemetry.Source.StartActivity("task.cancel", ActivityKind.Internal, default(ActivityContext),
                links: TraceParent.LinksTo(handle?.TraceParent, "cancels"));
            activity?.SetTag("agents.task_id", context.Message.TaskId);
            log.LogInformation("cancelling task {TaskId}: {Reason}", context.Message.TaskId, context.Message.Reason);
        }
        return Task.CompletedTask;
    }
}
