using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.TaskApi.Tasks;

/// <summary>What is kept, and for how long (section <c>Retention</c>; README "Retention"). 0 keeps forever.</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>Days after a task ended that its events and checkpoint are kept; its row (status, result, error) stays.</summary>
    [Range(0, 36500)]
    public double EventDays { get; set; } = 30;

    /// <summary>Days after a task ended that its row is kept (then it is gone from listings and polls: 404).</summary>
    [Range(0, 36500)]
    public double TaskDays { get; set; } = 365;

    /// <summary>Newest history messages kept per conversation (the model reads the newest Worker:HistoryMaxMessages, 40).</summary>
    [Range(0, 10_000_000)]
    public int HistoryMessagesPerConversation { get; set; } = 2000;

    /// <summary>How often TaskApi prunes.</summary>
    [Range(1, 100_000)]
    public int SweepMinutes { get; set; } = 60;

    /// <summary>Rows of each kind one pass deletes at most (one transaction); passes repeat until nothing is left.</summary>
    [Range(1, 1_000_000)]
    public int BatchSize { get; set; } = 1000;
}
