using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Agents.Micro.AgentWorker.Tests.Stub;

/// <summary>
/// Replies shaped like OpenAI's: <c>data: {chunk}\n\n</c> server-sent events, each chunk a
/// <c>chat.completion.chunk</c>; when the request asked for <c>stream_options.include_usage</c>, every chunk carries
/// <c>"usage":null</c> and a last chunk with <c>"choices":[]</c> carries the usage; then <c>data: [DONE]</c>.
/// </summary>
public static class Replies
{
    public const string Model = "stub-model-2025";

    public static Reply Stream(IEnumerable<JsonObject> deltas, string finishReason = "stop", int promptTokens = 11, int completionTokens = 7,
        int? reasoningTokens = null) =>
        async (http, request) =>
        {
            var includeUsage = request.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object
                && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
            var id = "chatcmpl-" + Guid.NewGuid().ToString("N")[..24];
            var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            StartSse(http);
            var all = new List<JsonObject> { new() { ["role"] = "assistant", ["content"] = "", ["refusal"] = null } };
            all.AddRange(deltas);
            foreach (var delta in all) await WriteAsync(http, Chunk(id, created, delta, null, includeUsage));
            await WriteAsync(http, Chunk(id, created, new JsonObject(), finishReason, includeUsage));
            if (includeUsage)
            {
                var usage = new JsonObject
                {
                    ["id"] = id, ["object"] = "chat.completion.chunk", ["created"] = created, ["model"] = Model,
                    ["system_fingerprint"] = "fp_stub", ["choices"] = new JsonArray(),
                    ["usage"] = new JsonObject
                    {
                        ["prompt_tokens"] = promptTokens, ["completion_tokens"] = completionTokens,
                        ["total_tokens"] = promptTokens + completionTokens,
                    },
                };
                // As OpenAI reports a reasoning model's thinking: part of completion_tokens.
                if (reasoningTokens is { } r)
                    usage["usage"]!["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = r };
                await WriteAsync(http, usage.ToJsonString());
            }
            await WriteAsync(http, "[DONE]");
        };

    /// <summary>An error like OpenAI's: a JSON error body, optionally with Retry-After.</summary>
    public static Reply Error(int status, string message, string? retryAfter = null) =>
        async (http, _) =>
        {
            http.Response.StatusCode = status;
            if (retryAfter is not null) http.Response.Headers.RetryAfter = retryAfter;
            await http.Response.WriteAsJsonAsync(new { error = new { message, type = "server_error", param = (string?)null, code = (string?)null } });
        };

    /// <summary>A raw event-stream body, exactly as given.</summary>
    public static Reply Raw(string body) =>
        async (http, _) =>
        {
            StartSse(http);
            await http.Response.WriteAsync(body);
        };

    /// <summary>Streams some text, then drops the connection without finishing.</summary>
    public static Reply TextThenDrop(params string[] texts) => Drop([.. texts.Select(Delta.Text)]);

    /// <summary>Streams these deltas, then drops the connection without finishing.</summary>
    public static Reply Drop(params JsonObject[] deltas) =>
        async (http, _) =>
        {
            var id = "chatcmpl-drop";
            StartSse(http);
            foreach (var d in deltas) await WriteAsync(http, Chunk(id, 0, d, null, false));
            await Task.Delay(50);
            http.Abort();
        };

    /// <summary>Waits (longer than the client's timeout) before answering.</summary>
    public static Reply Silence(TimeSpan wait, Reply then) =>
        async (http, request) =>
        {
            try { await Task.Delay(wait, http.RequestAborted); }
            catch (OperationCanceledException) { return; }
            await then(http, request);
        };

    private static void StartSse(HttpContext http)
    {
        http.Response.StatusCode = 200;
        http.Response.ContentType = "text/event-stream; charset=utf-8";
        http.Response.Headers.CacheControl = "no-cache";
    }

    private static string Chunk(string id, long created, JsonObject delta, string? finish, bool includeUsage)
    {
        var chunk = new JsonObject
        {
            ["id"] = id, ["object"] = "chat.completion.chunk", ["created"] = created, ["model"] = Model,
            ["system_fingerprint"] = "fp_stub",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish,
            }),
        };
        if (includeUsage) chunk["usage"] = null;
        return chunk.ToJsonString();
    }

    private static async Task WriteAsync(HttpContext http, string data)
    {
        await http.Response.WriteAsync("data: " + data + "\n\n", Encoding.UTF8);
        await http.Response.Body.FlushAsync();
    }
}

/// <summary>The <c>delta</c> objects of streamed chunks.</summary>
public static class Delta
{
    public static JsonObject Text(string content) => new() { ["content"] = content };

    /// <summary>DeepSeek / Qwen / vLLM style reasoning.</summary>
    public static JsonObject Reasoning(string content) => new() { ["content"] = null, ["reasoning_content"] = content };

    /// <summary>The first fragment of a tool call: index, id, name and empty arguments.</summary>
    public static JsonObject ToolStart(int index, string id, string name) => new()
    {
        ["tool_calls"] = new JsonArray(new JsonObject
        {
            ["index"] = index, ["id"] = id, ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = name, ["arguments"] = "" },
        }),
    };

    /// <summary>A later fragment: only the index and a piece of the arguments.</summary>
    public static JsonObject ToolArgs(int index, string fragment) => new()
    {
        ["tool_calls"] = new JsonArray(new JsonObject
        {
            ["index"] = index, ["function"] = new JsonObject { ["arguments"] = fragment },
        }),
    };

    /// <summary>Splits a text into pieces of at most <paramref name="size"/> characters (arguments arrive like this).</summary>
    public static IEnumerable<string> Pieces(string text, int size)
    {
        for (var i = 0; i < text.Length; i += size) yield return text.Substring(i, Math.Min(size, text.Length - i));
    }
}
