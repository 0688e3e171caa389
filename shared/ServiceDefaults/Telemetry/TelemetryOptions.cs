namespace Agents.Micro.ServiceDefaults.Telemetry;

public sealed class TelemetryOptions
{
    public const string SectionName = "Telemetry";

    /// <summary>Head sampling ratio for new traces (parent-based: a sampled parent is always followed).</summary>
    public double SamplingRatio { get; set; } = 1.0;

    /// <summary>Put prompts, answers and tool arguments into spans. Off by default: they may hold personal data.</summary>
    public bool RecordContent { get; set; }
}
