using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Agents.Micro.ServiceDefaults.Data;

/// <summary>Ready only while the database answers a trivial query.</summary>
public sealed class DatabaseHealthCheck(SqlDatabase db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(3));
            await using var conn = await db.OpenAsync(cts.Token);
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = "SELECT 1";
            await cmd.ExecuteScalarAsync(cts.Token);
            return HealthCheckResult.Healthy($"{db.Dialect} reachable");
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy($"{db.Dialect} unreachable: {ex.GetType().Name}");
        }
    }
}
