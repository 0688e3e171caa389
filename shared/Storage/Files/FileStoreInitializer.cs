using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Agents.Micro.Storage.Files;

/// <summary>Creates the bucket (or folder) at start-up, waiting (bounded) for an object store that is still coming up.</summary>
public sealed class FileStoreInitializer(IFileStore store, ILogger<FileStoreInitializer> log) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await store.InitializeAsync(cancellationToken);
                return;
            }
            catch (Exception ex) when (attempt < 30 && !cancellationToken.IsCancellationRequested)
            {
                log.LogWarning("file store not ready ({Error}); retrying", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
