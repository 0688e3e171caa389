using Agents.Micro.AgentWorker.Runtime;

namespace Agents.Micro.AgentWorker.Consumers;

/// <summary>Runs a task, or continues it from its checkpoint. Redelivered or duplicate commands are harmless: only a claim runs.</summary>
public sealed class RunTaskConsumer(TaskRunner runner) : IConsumer<RunTask>
{
    public Task Consume(ConsumeContext<RunTask> context) => runner.RunAsync(context.Message.TaskId, context.CancellationToken);
}
