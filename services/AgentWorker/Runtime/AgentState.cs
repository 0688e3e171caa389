namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>
/// Everything needed to continue a task on any worker: the checkpoint. Saved after every step, so an interrupt and
/// a worker crash are continued the same way.
/// </summary>
public sealed class AgentState
{
    public List<ChatMessage> Messages { get; set; } = [];
    /// <summary>Index in <see cref="Messages"/> where this task's own messages start (earlier ones are system + history).</summary>
    public int OwnFrom { get; set; }
    /// <summary>Model calls made so far.</summary>
    public int Iteration { get; set; }
    /// <summary>Steps committed so far (model turns and tool calls).</summary>
    public long Step { get; set; }
    /// <summary>Tool calls of the last assistant turn that have not run yet.</summary>
    public List<ToolCall> QueuedCalls { get; set; } = [];
    /// <summary>The call waiting for a human decision, if any.</summary>
    public PendingInterrupt? Pending { get; set; }
    /// <summary>How often the task was restarted after its worker died (graceful hand-backs are not counted).</summary>
    public int Restarts { get; set; }
    /// <summary>The task's graceful hand-backs this state has accounted for (a restart after a new one is not a failure).</summary>
    public long HandbacksSeen { get; set; }
    public int InputTokens { get; set; }
    public int OutputTokens { get; set; }
    public List<string> FilesWritten { get; set; } = [];
    /// <summary>Events in the log when this checkpoint was written: chunks after it belong to an unfinished model call.</summary>
    public long? LogIndex { get; set; }
    /// <summary>Bytes of event data written up to this checkpoint (for <c>Worker:MaxEventBytesPerTask</c>).</summary>
    public long EventBytes { get; set; }
    /// <summary>Text and thinking an unfinished model call already streamed, carried across restarts until it finishes.</summary>
    public string? PartialText { get; set; }
    public string? PartialThinking { get; set; }

    public string ToJson() => JsonSerializer.Serialize(this, TaskOptions.Json);

    public static AgentState FromJson(string json) => JsonSerializer.Deserialize<AgentState>(json, TaskOptions.Json) ?? new AgentState();
}

/// <summary>A tool call held for approval.</summary>
public sealed record PendingInterrupt(string InterruptId, ToolCall Call);
