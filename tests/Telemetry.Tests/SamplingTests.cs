using System.Diagnostics;
using Agents.Micro.ServiceDefaults.Telemetry;
using OpenTelemetry.Trace;

namespace Agents.Micro.Telemetry.Tests;

/// <summary>Head sampling as configured by OTEL_TRACES_SAMPLER(_ARG) or Telemetry:SamplingRatio.</summary>
public sealed class SamplingTests
{
    private static readonly ActivityTraceId Trace = ActivityTraceId.CreateRandom();

    private static SamplingDecision Decide(Sampler sampler, ActivityTraceFlags? parent) =>
        sampler.ShouldSample(new SamplingParameters(
            parent is { } flags ? new ActivityContext(Trace, ActivitySpanId.CreateRandom(), flags, isRemote: true) : default,
            Trace, "span", ActivityKind.Server)).Decision;

    [Fact]
    public void DefaultRatioZero_DropsNewTraces_ButFollowsASampledParent()
    {
        var sampler = TelemetrySampling.Create(null, null, defaultRatio: 0);
        Assert.Equal(SamplingDecision.Drop, Decide(sampler, null));
        Assert.Equal(SamplingDecision.RecordAndSample, Decide(sampler, ActivityTraceFlags.Recorded));
        Assert.Equal(SamplingDecision.Drop, Decide(sampler, ActivityTraceFlags.None));
    }

    [Fact]
    public void StandardVariables_OverrideTheConfiguredRatio()
    {
        Assert.Equal(SamplingDecision.Drop, Decide(TelemetrySampling.Create("always_off", null, 1), ActivityTraceFlags.Recorded));
        Assert.Equal(SamplingDecision.RecordAndSample, Decide(TelemetrySampling.Create("always_on", null, 0), ActivityTraceFlags.None));
        Assert.Equal(SamplingDecision.Drop, Decide(TelemetrySampling.Create("parentbased_traceidratio", "0", 1), null));
        Assert.Equal(SamplingDecision.RecordAndSample, Decide(TelemetrySampling.Create("parentbased_traceidratio", "1.0", 0), null));
        Assert.Equal(SamplingDecision.Drop, Decide(TelemetrySampling.Create("traceidratio", "0", 1), ActivityTraceFlags.Recorded));
    }
}
