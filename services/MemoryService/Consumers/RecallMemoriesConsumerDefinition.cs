using System.Data.Common;

namespace Agents.Micro.MemoryService.Consumers;

/// <summary>
/// Recall sits on the agent's critical path (before every run): many concurrent requests, and a short retry for a
/// database hiccup only — a requester times out on its own, so long retries would only answer nobody.
/// </summary>
public sealed class RecallMemoriesConsumerDefinition : ConsumerDefinition<RecallMemoriesConsumer>
{
    public const string QueueName = "memory-recall";

    public RecallMemoriesConsumerDefinition()
    {
        EndpointName = QueueName;
        ConcurrentMessageLimit = 32;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<RecallMemoriesConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r => { r.Handle<DbException>(); r.Intervals(100, 500); });
    }
}
