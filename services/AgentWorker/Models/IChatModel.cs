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
    Func<string, CancellationToken, Task<BinaryData?>>? LoadImage = null,
    StreamedSoFar? AlreadyStreamed = null);

/// <summary>
/// What an earlier attempt of this same model call already streamed to the client before its worker died. The caller
/// drops that much of the new stream so the client sees the answer continue, not restart. A deterministic model may use
/// it to produce that part at once instead of at streaming speed.
/// </summary>
public sealed record StreamedSoFar(string Text, string Thinking);

/// <summary>What a streaming model call yields.</summary>
public abstract record ModelUpdate
{
    public sealed record Text(string Delta) : ModelUpdate;
    public sealed record Thinking(string Delta) : ModelUpdate;
    /// <summary>The complete tool calls of this turn (fragments already assembled).</summary>
    public sealed record ToolCalls(IReadOnlyList<ToolCall> Calls) : ModelUpdate;
    /// <summary>A call's tokens; <paramref name="ReasoningTokens"/> are part of the output, where the provider tells them apart.</summary>
    public sealed record Usage(int InputTokens, int OutputTokens, int ReasoningTokens = 0) : ModelUpdate;
}

/// <summary>A chat model that streams its answer and may ask for tools.</summary>
public interface IChatModel
{
    string Name { get; }
    IAsyncEnumerable<ModelUpdate> StreamAsync(ModelRequest request, CancellationToken ct);
}
