using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.TaskApi.Streaming;

/// <summary>Live following of a task: SSE, WebSocket and long polling.</summary>
public sealed class StreamingOptions
{
    public const string SectionName = "Streaming";

    /// <summary>An idle SSE stream gets a comment line this often (and a WebSocket a keep-alive frame), so proxies keep it open.</summary>
    [Range(1, 300)]
    public int KeepAliveSeconds { get; set; } = 15;

    /// <summary>
    /// How often tasks with waiting readers are checked in the database in case a bus notification was lost: one
    /// query for all watched tasks together, never one per reader.
    /// </summary>
    [Range(1, 300)]
    public int RecheckSeconds { get; set; } = 5;

    /// <summary>The largest <c>wait</c> a long poll may ask for (seconds).</summary>
    [Range(1, 300)]
    public int MaxWaitSeconds { get; set; } = 30;
}
