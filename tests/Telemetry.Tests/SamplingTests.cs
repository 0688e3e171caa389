using System.Diagnostics;
using Agents.Micro.ServiceDefaults.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace Agents.Micro.Telemetry.Tests;

/// <summary>
/// Head sampling of a service as configured: Telemetry:SamplingRatio for new traces, the standard
/// OTEL_TRACES_SAMPLER(_ARG) over it, and parent-based by default so that a trace is kept or dropped whole.
/// Each case builds a host with the service defaults and starts a span on one of our activity sources.
/// </summary>
public sealed class SamplingTests
{
    private static readonly ActivityTraceId Trace = ActivityTraceId.CreateRandom();

    private static async Task<bool> RecordedAsync(ActivityTraceFlags? parent, params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(
            settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))
                .Append(KeyValuePair.Create("OTEL_EXPORTER_OTLP_ENDPOINT", (string?)"http://127.0.0.1:9")));
        builder.AddAgentsTelemetry("sampling-test");
        using var host = builder.Build();
        await host.StartAsync();
        using var source = new ActivitySource(AgentsTelemetry.Name + ".SamplingTest");
        var context = parent is { } flags ? new ActivityContext(Trace, ActivitySpanId.CreateRandom(), flags, isRemote: true) : default;
        bool recorded;
        using (var span = source.StartActivity("span", ActivityKind.Server, context)) recorded = span?.Recorded == true;
        await host.StopAsync();
        return recorded;
    }

    [Fact]
    public async Task RatioZero_DropsNewTraces_ButFollowsTheParent()
    {
        Assert.False(await RecordedAsync(null, ("Telemetry:SamplingRatio", "0")));
        Assert.True(await RecordedAsync(ActivityTraceFlags.Recorded, ("Telemetry:SamplingRatio", "0")));
        Assert.False(await RecordedAsync(ActivityTraceFlags.None, ("Telemetry:SamplingRatio", "1")));
        Assert.True(await RecordedAsync(null));
    }

    [Fact]
    public async Task StandardVariables_OverrideTheConfiguredRatio()
    {
        Assert.False(await RecordedAsync(ActivityTraceFlags.Recorded, ("OTEL_TRACES_SAMPLER", "always_off"), ("Telemetry:SamplingRatio", "1")));
        Assert.True(await RecordedAsync(ActivityTraceFlags.None, ("OTEL_TRACES_SAMPLER", "always_on"), ("Telemetry:SamplingRatio", "0")));
        Assert.True(await RecordedAsync(null, ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "1.0"), ("Telemetry:SamplingRatio", "0")));
        Assert.False(await RecordedAsync(null, ("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0"), ("Telemetry:SamplingRatio", "1")));
    }
}
