using Agents.Micro.AgentWorker.Runtime;

namespace Agents.Micro.AgentWorker.Consumers;

/// <summary>Continues an interrupted task; the decision is already stored with the task (the API wrote it atomically).</summary>
public sealed class ResumeTaskConsumer(TaskRunner runner) : IConsumer<ResumeTask>
{
    public Task Consume(ConsumeContext<ResumeTask> context) => runner.RunAsync(context.Message.TaskId, context.CancellationToken);
}
