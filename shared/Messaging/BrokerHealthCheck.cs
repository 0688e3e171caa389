using MassTransit;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Agents.Micro.Messaging;

/// <summary>
/// Not ready unless the bus is fully healthy. MassTransit's own check reports a lost broker connection as Degraded,
/// which health endpoints answer with 200; a worker without its broker gets no work and must say so.
/// </summary>
public sealed class BrokerHealthCheck(IBusControl bus) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var h = bus.CheckHealth();
        return Task.FromResult(h.Status == BusHealthStatus.Healthy
            ? HealthCheckResult.Healthy("broker connected")
            : HealthCheckResult.Unhealthy($"broker {h.Status.ToString().ToLowerInvariant()}: {h.Description}"));
    }
}
