namespace Agents.Micro.AgentWorker.Consumers;

/// <summary>
/// Run and resume share one competing-consumer queue, so <c>Worker:MaxConcurrentTasks</c> bounds all work of a worker.
/// A command that keeps failing (the database is down, say) is retried a few times and then lands in
/// <c>agent-tasks_error</c>; its task stays in the database and is re-dispatched by TaskApi's sweep.
/// </summary>
public sealed class RunTaskConsumerDefinition : ConsumerDefinition<RunTaskConsumer>
{
    private readonly int _limit;

    public RunTaskConsumerDefinition(IOptions<WorkerOptions> options)
    {
        _limit = options.Value.MaxConcurrentTasks;
        EndpointName = QueueNames.AgentTasks;
        ConcurrentMessageLimit = _limit;
        Endpoint(e => e.PrefetchCount = _limit);
    }

    // The retry policy of the whole agent-tasks endpoint, so of RunTask and ResumeTask alike: configured here once
    // (ResumeTaskConsumerDefinition adds none, or a resume would be retried by two policies, one inside the other).
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<RunTaskConsumer> consumerConfigurator,
        IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(r => r.Intervals(200, 1000, 3000));
}

public sealed class ResumeTaskConsumerDefinition : ConsumerDefinition<ResumeTaskConsumer>
{
    public ResumeTaskConsumerDefinition(IOptions<WorkerOptions> options)
    {
        EndpointName = QueueNames.AgentTasks;
        ConcurrentMessageLimit = options.Value.MaxConcurrentTasks;
    }
}

/// <summary>Cancels fan out: one auto-deleted queue per worker instance.</summary>
public sealed class CancelTaskConsumerDefinition : ConsumerDefinition<CancelTaskConsumer>
{
    public CancelTaskConsumerDefinition() =>
        Endpoint(e =>
        {
            e.InstanceId = "-" + Guid.NewGuid().ToString("N")[..10];
            e.Temporary = true;
        });
}
