namespace Agents.Micro.AgentWorker.Models;

/// <summary>A provider-neutral chat message: what the loop keeps in checkpoints and conversation history.</summary>
public sealed record ChatMessage
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";
    public const string Tool = "tool";

    public string Role { get; init; } = User;
    public string? Content { get; init; }
    /// <summary>Tool calls the assistant asked for.</summary>
    public IReadOnlyList<ToolCall>? ToolCalls { get; init; }
    /// <summary>For a tool result: the call it answers, and the tool's name.</summary>
    public string? ToolCallId { get; init; }
    public string? Name { get; init; }
    /// <summary>
    /// The reasoning the model streamed before asking for <see cref="ToolCalls"/>. Kept because thinking models with
    /// tools (DeepSeek's thinking mode, Kimi) answer 400 unless it is sent back with that assistant message.
    /// </summary>
    public string? Reasoning { get; init; }
    /// <summary>Workspace paths of images attached to a user message.</summary>
    public IReadOnlyList<string>? Images { get; init; }
}

/// <summary>A tool call with its arguments as a JSON object text.</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);
