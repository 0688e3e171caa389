using System.Text.Json;

namespace Agents.Micro.AgentWorker.Models;

/// <summary>A tool offered to the model.</summary>
public sealed record ToolSpec(string Name, string Description, JsonElement Parameters);

/// <summary>One model call: the conversation so far and how to think about it.</summary>
public sealed record ModelRequest(
    IReadOnlyList<ChatMessage> Messages,
    IReadOnlyList<ToolSpec> Tools,
    bool Thinking,
    float? Temperature,
    string? ReasoningEffort,
    Func<string, CancellationToken, Task<BinaryData?>>? LoadImage = null);

/// <summary>What a streaming model call yields.</summary>
public abstract record ModelUpdate
{
    public sealed record Text(string Delta) : ModelUpdate;
    public sealed record Thinking(string Delta) : ModelUpdate;
    /// <summary>The complete tool calls of this turn (fragments already assembled).</summary>
    public sealed record ToolCalls(IReadOnlyList<ToolCall> Calls) : ModelUpdate;
    public sealed record Usage(int InputTokens, int OutputTokens) : ModelUpdate;
}

/// <summary>A chat model that streams its answer and may ask for tools.</summary>
public interface IChatModel
{
    string Name { get; }
    IAsyncEnumerable<ModelUpdate> StreamAsync(ModelRequest request, CancellationToken ct);
}
