using Agents.Micro.Storage.Tasks;

namespace Agents.Micro.TaskApi.Tasks;

/// <summary>Creates the schema at start-up, waiting (bounded) for a database that is still coming up.</summary>
public sealed class TaskStoreInitializer(ITaskStore store, ILogger<TaskStoreInitializer> log) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await store.EnsureSchemaAsync(cancellationToken);
                return;
            }
            catch (Exception ex) when (attempt < 30 && !cancellationToken.IsCancellationRequested)
            {
                log.LogWarning("database not ready ({Error}); retrying", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
