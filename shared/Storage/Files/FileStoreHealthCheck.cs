using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Agents.Micro.Storage.Files;

/// <summary>Ready only while the file store answers (the bucket can be listed, or the folder exists).</summary>
public sealed class FileStoreHealthCheck(IFileStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(3));
            await store.CheckReadyAsync(cts.Token);
            return HealthCheckResult.Healthy("file store reachable");
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy($"file store unreachable: {ex.GetType().Name}");
        }
    }
}
