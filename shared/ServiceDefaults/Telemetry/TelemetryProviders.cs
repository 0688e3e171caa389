using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Agents.Micro.ServiceDefaults.Telemetry;

/// <summary>
/// Owns the OpenTelemetry providers' lifetime (the hosting package is not available here): flushes and disposes
/// them when the host stops so the last spans of a shutting-down worker are not lost.
/// </summary>
public sealed class TelemetryProviders(TracerProvider? tracer, MeterProvider? meter) : IHostedService, IDisposable
{
    public TracerProvider? Tracer { get; } = tracer;
    public MeterProvider? Meter { get; } = meter;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Tracer?.ForceFlush(3000);
        Meter?.ForceFlush(3000);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        Tracer?.Dispose();
        Meter?.Dispose();
    }
}
