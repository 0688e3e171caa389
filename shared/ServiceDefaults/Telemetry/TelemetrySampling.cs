using OpenTelemetry.Trace;

namespace Agents.Micro.ServiceDefaults.Telemetry;

/// <summary>
/// The head sampler: the standard <c>OTEL_TRACES_SAMPLER</c> / <c>OTEL_TRACES_SAMPLER_ARG</c> when set, otherwise
/// parent-based with <c>Telemetry:SamplingRatio</c> for new traces. Parent-based matters here: a task's spans in the
/// worker follow the decision the gateway made, so a trace is either whole or absent, never half sampled.
/// </summary>
public static class TelemetrySampling
{
    public static Sampler Create(string? sampler, string? argument, double defaultRatio)
    {
        var ratio = double.TryParse(argument, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var r)
            ? Math.Clamp(r, 0, 1)
            : Math.Clamp(defaultRatio, 0, 1);
        return sampler?.Trim().ToLowerInvariant() switch
        {
            "always_on" => new AlwaysOnSampler(),
            "always_off" => new AlwaysOffSampler(),
            "traceidratio" => new TraceIdRatioBasedSampler(ratio),
            "parentbased_always_on" => new ParentBasedSampler(new AlwaysOnSampler()),
            "parentbased_always_off" => new ParentBasedSampler(new AlwaysOffSampler()),
            // parentbased_traceidratio, unset, or a sampler this SDK does not know (jaeger_remote, xray): the default.
            _ => new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio)),
        };
    }
}
