using System.Diagnostics.Metrics;
using Agents.Micro.ServiceDefaults.Telemetry;

namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>The worker's metrics (meter <c>Agents.Micro</c>).</summary>
public static class AgentMetrics
{
    public static readonly Counter<long> TasksStarted = AgentsTelemetry.Meter.CreateCounter<long>("agents.tasks.started", description: "Task runs started by workers");
    public static readonly Counter<long> TasksFinished = AgentsTelemetry.Meter.CreateCounter<long>("agents.tasks.finished", description: "Task runs that ended, by outcome");
    public static readonly Counter<long> EventsAppended = AgentsTelemetry.Meter.CreateCounter<long>("agents.events.appended", description: "Events written to task logs");
    public static readonly Histogram<double> QueueWait = AgentsTelemetry.Meter.CreateHistogram<double>("agents.tasks.queue_wait", "s", "Accepted to claimed");
    public static readonly Histogram<double> TaskDuration = AgentsTelemetry.Meter.CreateHistogram<double>("agents.tasks.duration", "s", "Claimed to finished");
    public static readonly Histogram<double> ModelLatency = AgentsTelemetry.Meter.CreateHistogram<double>("agents.model.latency", "s", "One model call");
    public static readonly Counter<long> ModelTokens = AgentsTelemetry.Meter.CreateCounter<long>("agents.model.tokens", description: "Tokens by direction");
    public static readonly Histogram<double> ToolLatency = AgentsTelemetry.Meter.CreateHistogram<double>("agents.tool.latency", "s", "One tool call");
    public static readonly UpDownCounter<long> ActiveTasks = AgentsTelemetry.Meter.CreateUpDownCounter<long>("agents.worker.active_tasks", description: "Tasks this worker runs now");
}
