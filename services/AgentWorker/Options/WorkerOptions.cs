using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.AgentWorker.Options;

/// <summary>The worker's knobs (section <c>Worker</c>). README "Guarantees" explains how they interact.</summary>
public sealed class WorkerOptions
{
    public const string SectionName = "Worker";

    /// <summary>Tasks one worker process runs at once (the consumer's concurrency and prefetch).</summary>
    [Range(1, 1000)]
    public int MaxConcurrentTasks { get; set; } = 16;

    /// <summary>
    /// Tasks one user may have running at once across all workers; the user's other tasks wait (queued) while other
    /// users' tasks take the free slots. Keep it below the workers' total capacity, or one user can fill every slot.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxRunningPerUser { get; set; } = 8;

    /// <summary>
    /// How long a claim lasts without renewal. A dead worker's tasks are taken over after at most this long plus one
    /// TaskApi sweep (<c>Dispatch:SweepIntervalSeconds</c>): 6 + 2 s by default.
    /// </summary>
    [Range(2, 3600)]
    public double LeaseSeconds { get; set; } = 6;

    /// <summary>
    /// How often the worker renews all its leases (one statement for all of them) and reads their cancel flags. Keep it
    /// at most a third of <see cref="LeaseSeconds"/>: a worker then misses two beats before it loses a lease.
    /// </summary>
    [Range(0.2, 600)]
    public double HeartbeatSeconds { get; set; } = 2;

    /// <summary>Runs of one task (first run plus restarts after crashes) before it fails for good.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Events one task may write (every chunk is one); a task that reaches it ends with <c>task_failed</c> saying so.</summary>
    [Range(10, 100_000_000)]
    public int MaxEventsPerTask { get; set; } = 20_000;

    /// <summary>Bytes of event data one task may write; a task that reaches it ends with <c>task_failed</c> saying so.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxEventBytesPerTask { get; set; } = 32L * 1024 * 1024;

    /// <summary>Wall-clock limit of one task run; it then ends with <c>task_failed</c>.</summary>
    [Range(1, 86400)]
    public int TaskTimeoutSeconds { get; set; } = 900;

    /// <summary>On SIGTERM, how long running tasks get to checkpoint and hand back their lease.</summary>
    [Range(1, 600)]
    public int DrainSeconds { get; set; } = 20;

    /// <summary>Streamed events are written in batches at most this far apart (one commit per batch, not per event).</summary>
    [Range(0, 5000)]
    public int EventFlushMs { get; set; } = 25;

    /// <summary>Earlier messages of the conversation given to the model.</summary>
    [Range(0, 1000)]
    public int HistoryMaxMessages { get; set; } = 40;

    /// <summary>Memories recalled before each run (0 disables the recall).</summary>
    [Range(0, 50)]
    public int RecallLimit { get; set; } = 5;

    /// <summary>How long the worker waits for MemoryService before running without memories.</summary>
    [Range(100, 60000)]
    public int RecallTimeoutMs { get; set; } = 2000;

    /// <summary>Tools that need a human's approval before they run (an <c>interrupt</c>).</summary>
    public List<string> ApprovalRequiredTools { get; set; } = ["write_file"];

    /// <summary>Longest tool result kept in events and given back to the model (characters).</summary>
    [Range(256, 1_000_000)]
    public int MaxToolResultChars { get; set; } = 16_000;

    /// <summary>Time limit of one tool call.</summary>
    [Range(1, 3600)]
    public int ToolTimeoutSeconds { get; set; } = 60;
}
