namespace Agents.Micro.MemoryService.Storage;

/// <summary>Creates the memory tables at start-up, waiting (bounded) for a database that is still coming up.</summary>
public sealed class MemoryStoreInitializer(IMemoryStore store, ILogger<MemoryStoreInitializer> log) : IHostedService
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
                log.LogWarning("memory database not ready ({Error}); retrying", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
