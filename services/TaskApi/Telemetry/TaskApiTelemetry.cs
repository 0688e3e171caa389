using System.Diagnostics.Metrics;
using System.Diagnostics;
using Agents.Micro.ServiceDefaults.Telemetry;

namespace Agents.Micro.TaskApi.Telemetry;

/// <summary>TaskApi's own spans and metrics (meter and activity source <c>Agents.Micro.TaskApi</c>).</summary>
public static class TaskApiTelemetry
{
    public const string Name = AgentsTelemetry.Name + ".TaskApi";
    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> TasksAccepted = Meter.CreateCounter<long>("agents.tasks.accepted", description: "Tasks accepted (202) by model and run mode");
    public static readonly Counter<long> TasksResumed = Meter.CreateCounter<long>("agents.tasks.resumed", description: "Interrupted tasks resumed, by decision");
    public static readonly Counter<long> CancelsRequested = Meter.CreateCounter<long>("agents.tasks.cancel_requested", description: "Cancel requests for a task that existed, by outcome");

    /// <summary>The response header carrying the trace id of the request, to find its trace in Jaeger.</summary>
    public const string TraceIdHeader = "X-Trace-Id";

    /// <summary>The run mode the worker will use (the same rule as the worker's run settings: run_mode wins over thinking_mode).</summary>
    public static string ModeOf(TaskOptions o) => o.RunMode ?? (o.ThinkingMode == true ? "thinking" : "fast");

    /// <summary>Sets <see cref="TraceIdHeader"/> when this request is recorded (a sampled-out trace id finds nothing).</summary>
    public static void AddTraceIdHeader(HttpResponse response)
    {
        if (Activity.Current is { Recorded: true } && TraceParent.CurrentTraceId() is { } id)
            response.Headers[TraceIdHeader] = id;
    }
}
