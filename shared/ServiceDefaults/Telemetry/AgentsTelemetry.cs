using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Agents.Micro.ServiceDefaults.Telemetry;

/// <summary>The activity source and meter every Agents.Micro service writes its own spans and metrics to.</summary>
public static class AgentsTelemetry
{
    public const string Name = "Agents.Micro";
    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    /// <summary>Whether full prompts and tool arguments may go into span attributes (off unless enabled).</summary>
    public static bool RecordContent { get; set; }
}
