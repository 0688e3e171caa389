using System.Buffers;
using System.Text;
using OpenAI.Chat;

namespace Agents.Micro.AgentWorker.Models;

/// <summary>
/// Turns the chunks of one streamed chat completion into <see cref="ModelUpdate"/>s: text and reasoning deltas pass
/// straight through, tool-call fragments are collected by index (id and name come first, the arguments arrive in
/// pieces) and handed over whole when the stream ends, together with the usage of the final chunk.
/// </summary>
internal sealed class OpenAiTurnAssembler(string modelName)
{
    // DeepSeek, Qwen and vLLM stream reasoning as `reasoning_content`; OpenRouter and newer vLLM as `reasoning`.
    // The SDK has no property for either, so they are read from the chunk's raw JSON through its patch.
    private static readonly byte[][] ReasoningPaths =
    [
        "$.choices[0].delta.reasoning_content"u8.ToArray(),
        "$.choices[0].delta.reasoning"u8.ToArray(),
    ];

    private readonly List<PendingCall> _calls = [];
    private readonly Dictionary<int, PendingCall> _byIndex = [];
    private readonly List<string> _finishReasons = [];
    private ChatTokenUsage? _usage;

    public string? ResponseModel { get; private set; }

    public IReadOnlyList<string> FinishReasons => _finishReasons;

    /// <summary>The updates to yield at once for this chunk (text and thinking; tool calls wait for the end).</summary>
    public List<ModelUpdate> Accept(StreamingChatCompletionUpdate chunk)
    {
        var now = new List<ModelUpdate>();
        if (ProviderError(chunk) is { } error)
            throw new ModelCallException($"model '{modelName}': the provider reported an error in the stream: {error}");
        if (!string.IsNullOrEmpty(chunk.Model)) ResponseModel = chunk.Model;
        if (chunk.Usage is not null) _usage = chunk.Usage;

        var thinking = Reasoning(chunk);
        if (!string.IsNullOrEmpty(thinking)) now.Add(new ModelUpdate.Thinking(thinking));

        foreach (var part in chunk.ContentUpdate)
        {
            if (!string.IsNullOrEmpty(part.Text)) now.Add(new ModelUpdate.Text(part.Text));
        }
        // A refusal is the model's answer to the user: show it as text rather than dropping it.
        if (!string.IsNullOrEmpty(chunk.RefusalUpdate)) now.Add(new ModelUpdate.Text(chunk.RefusalUpdate));

        foreach (var fragment in chunk.ToolCallUpdates) AddFragment(fragment);

        if (chunk.FinishReason is { } reason) _finishReasons.Add(WireName(reason));
        return now;
    }

    /// <summary>What the end of the stream yields: the assembled tool calls, then the usage.</summary>
    public List<ModelUpdate> Finish()
    {
        if (_finishReasons.Count == 0)
            throw new ModelCallException($"model '{modelName}': the stream ended before the model finished its answer (no finish_reason); the response was cut off or is not a chat-completions stream");
        var end = new List<ModelUpdate>();
        if (_calls.Count > 0)
        {
            var calls = new List<ToolCall>(_calls.Count);
            foreach (var c in _calls)
            {
                if (string.IsNullOrEmpty(c.Name))
                    throw new ModelCallException($"model '{modelName}': the stream sent tool call #{c.Index} without a function name");
                var args = Encoding.UTF8.GetString(c.Arguments.WrittenSpan);
                calls.Add(new ToolCall(
                    string.IsNullOrEmpty(c.Id) ? $"call_{Guid.NewGuid():N}" : c.Id,
                    c.Name,
                    string.IsNullOrWhiteSpace(args) ? "{}" : args));
            }
            end.Add(new ModelUpdate.ToolCalls(calls));
        }
        if (_usage is not null) end.Add(new ModelUpdate.Usage(_usage.InputTokenCount, _usage.OutputTokenCount, _usage.OutputTokenDetails?.ReasoningTokenCount ?? 0));
        return end;
    }

    /// <summary>The finish reason as the API spells it (the SDK turns it into an enum).</summary>
    private static string WireName(ChatFinishReason reason) => reason switch
    {
        ChatFinishReason.Stop => "stop",
        ChatFinishReason.Length => "length",
        ChatFinishReason.ToolCalls => "tool_calls",
        ChatFinishReason.ContentFilter => "content_filter",
        ChatFinishReason.FunctionCall => "function_call",
        _ => reason.ToString().ToLowerInvariant(),
    };

    private void AddFragment(StreamingChatToolCallUpdate fragment)
    {
        // Calls are keyed by index. A fragment carrying a new id at an index already in use starts a new call: some
        // compatible servers send every call whole with index 0.
        if (!_byIndex.TryGetValue(fragment.Index, out var call)
            || (!string.IsNullOrEmpty(fragment.ToolCallId) && !string.IsNullOrEmpty(call.Id) && call.Id != fragment.ToolCallId))
        {
            call = new PendingCall(fragment.Index);
            _byIndex[fragment.Index] = call;
            _calls.Add(call);
        }
        if (!string.IsNullOrEmpty(fragment.ToolCallId)) call.Id = fragment.ToolCallId;
        if (!string.IsNullOrEmpty(fragment.FunctionName)) call.Name = fragment.FunctionName;
        if (fragment.FunctionArgumentsUpdate is { } args && !args.IsEmpty) call.Arguments.Write(args.ToMemory().Span);
    }

#pragma warning disable SCME0001 // JsonPatch is the SDK's (experimental) door to JSON properties it has no model for.
    private static string? Reasoning(StreamingChatCompletionUpdate chunk)
    {
        foreach (var path in ReasoningPaths)
        {
            if (chunk.Patch.TryGetValue(path, out string? text) && !string.IsNullOrEmpty(text)) return text;
        }
        return null;
    }

    /// <summary>vLLM, OpenRouter and others report a failure after the 200 as an event <c>{"error":{"message":…}}</c>.</summary>
    private static string? ProviderError(StreamingChatCompletionUpdate chunk)
    {
        if (!chunk.Patch.Contains("$.error"u8)) return null;
        return chunk.Patch.TryGetValue("$.error.message"u8, out string? message) && !string.IsNullOrEmpty(message)
            ? message
            : chunk.Patch.GetJson("$.error"u8).ToString();
    }
#pragma warning restore SCME0001

    private sealed class PendingCall(int index)
    {
        public int Index { get; } = index;
        public string? Id { get; set; }
        public string? Name { get; set; }
        public ArrayBufferWriter<byte> Arguments { get; } = new();
    }
}
