using System.Data.Common;

namespace Agents.Micro.MemoryService.Consumers;

/// <summary>Saves are idempotent (duplicates return the existing id), so a database error is safe to retry.</summary>
public sealed class SaveMemoryConsumerDefinition : ConsumerDefinition<SaveMemoryConsumer>
{
    public const string QueueName = "memory-save";

    public SaveMemoryConsumerDefinition()
    {
        EndpointName = QueueName;
        ConcurrentMessageLimit = 8;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<SaveMemoryConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r => { r.Handle<DbException>(); r.Intervals(100, 500, 1000); });
    }
}
