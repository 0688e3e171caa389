using System.Diagnostics.Metrics;

namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>
/// The worker's metrics (meter <c>Agents.Micro.AgentWorker</c>). Task counters are tagged <c>model</c> (the model key)
/// and <c>mode</c> (fast, thinking, deep); <c>agents.tasks.finished</c> also by <c>outcome</c> (completed, interrupted,
/// cancelled, error, timeout, gave_up, handed_back, lease_lost). Each process is one <c>service.instance.id</c>, so
/// <c>agents.worker.active_tasks</c> reads per worker.
/// </summary>
public static class AgentMetrics
{
    public const string MeterName = AgentsTelemetry.Name + ".AgentWorker";
    public static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> TasksStarted = Meter.CreateCounter<long>("agents.tasks.started", description: "Task runs started by workers (first claim)");
    public static readonly Counter<long> TasksFinished = Meter.CreateCounter<long>("agents.tasks.finished", description: "Task runs that ended, by outcome");
    public static readonly Histogram<long> CommitBatchSize = Meter.CreateHistogram<long>("agents.events.commit_batch", "{commit}", "Task steps written in one group-commit transaction");
    public static readonly Counter<long> EventsAppended = Meter.CreateCounter<long>("agents.events.appended", description: "Events written to task logs");
    public static readonly Histogram<double> QueueWait = Meter.CreateHistogram<double>("agents.tasks.queue_wait", "s", "Accepted to first claimed");
    public static readonly Histogram<double> TaskDuration = Meter.CreateHistogram<double>("agents.tasks.duration", "s", "Claimed to finished (one run)");
    public static readonly Histogram<double> ModelLatency = Meter.CreateHistogram<double>("agents.model.latency", "s", "One model call");
    public static readonly Counter<long> ModelTokens = Meter.CreateCounter<long>("agents.model.tokens", description: "Tokens by direction");
    public static readonly Histogram<double> ToolLatency = Meter.CreateHistogram<double>("agents.tool.latency", "s", "One tool call");
    public static readonly UpDownCounter<long> ActiveTasks = Meter.CreateUpDownCounter<long>("agents.worker.active_tasks", description: "Tasks this worker runs now");
}
