using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using System.Text;

namespace Agents.Micro.AgentWorker.Models;

/// <summary>
/// The built-in deterministic model: no network, same answer for the same conversation. It streams its answer in
/// chunks, thinks aloud in thinking/deep modes, and calls the real tools when asked in plain words:
/// "list my files", "read file notes/a.txt", "write file notes/a.txt with hello", "remember that I like tea",
/// "what do you remember about tea?", "count to 50" (a long answer), "what did I say before?" (uses the history),
/// "keep listing files" (never stops calling tools: shows <c>max_iterations</c>). Chinese: "记住…", "回忆…".
/// Any tool by name, an MCP server's among them: "call tool everything__echo with message=hello" or
/// "use the tool fs__write_file with {\"path\": \"/data/a.txt\", \"content\": \"hi\"}" (unquoted numbers and true/false
/// are sent as such; the name is called even if not offered, as a real model may do).
/// </summary>
public sealed partial class LocalModel(LocalModelOptions options) : IChatModel
{
    public string Name => "local";

    [GeneratedRegex(@"(?:write|create|save)\s+(?:a\s+)?file\s+(?:named\s+|called\s+)?[""']?(?<path>[^\s""']+)[""']?\s+(?:with|containing)\s+(?:the\s+)?(?:content\s+|text\s+)?(?<content>.+)$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex WriteIntent();
    [GeneratedRegex(@"read\s+(?:the\s+)?file\s+[""']?(?<path>[^\s""'?]+)", RegexOptions.IgnoreCase)]
    private static partial Regex ReadIntent();
    [GeneratedRegex(@"keep\s+listing\s+files", RegexOptions.IgnoreCase)]
    private static partial Regex LoopIntent();
    [GeneratedRegex(@"list\s+(?:all\s+)?(?:my\s+|the\s+)?files(?:\s+in\s+[""']?(?<dir>[^\s""'?]+))?", RegexOptions.IgnoreCase)]
    private static partial Regex ListIntent();
    [GeneratedRegex(@"^\s*(?:please\s+)?(?:remember(?:\s+that)?|记住)[\s:：,，]*(?<x>.+?)\s*$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex RememberIntent();
    [GeneratedRegex(@"(?:recall|what\s+do\s+you\s+(?:remember|know)\s+about|回忆|你记得)\s*(?<q>.+?)[\s?？。]*$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex RecallIntent();
    [GeneratedRegex(@"(?:call|use|run)\s+(?:the\s+)?tool\s+[`""']?(?<name>[A-Za-z0-9_.\-]+)[`""']?(?:\s+with\s+(?<args>.+?))?\s*$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex NamedToolIntent();
    [GeneratedRegex(@"(?<k>[A-Za-z_][\w\-]*)\s*=\s*(?:""(?<q>[^""]*)""|'(?<q>[^']*)'|(?<v>\S+))")]
    private static partial Regex ArgPair();
    [GeneratedRegex(@"count\s+to\s+(?<n>\d{1,6})", RegexOptions.IgnoreCase)]
    private static partial Regex CountIntent();
    [GeneratedRegex(@"what\s+did\s+i\s+(?:say|ask|tell\s+you)\s+(?:before|earlier|previously|last\s+time)", RegexOptions.IgnoreCase)]
    private static partial Regex PreviousIntent();

    public async IAsyncEnumerable<ModelUpdate> StreamAsync(ModelRequest request, [EnumeratorCancellation] CancellationToken ct)
    {
        var messages = request.Messages;
        var lastUser = messages.LastOrDefault(m => m.Role == ChatMessage.User);
        var query = lastUser?.Content ?? "";
        var afterTools = messages.Count > 0 && messages[^1].Role == ChatMessage.Tool;

        // After a crash, the part the client already has is produced at once: only the rest streams at chunk speed.
        var coveredThinking = request.AlreadyStreamed?.Thinking.Length ?? 0;
        var coveredText = request.AlreadyStreamed?.Text.Length ?? 0;
        if (request.Thinking && !afterTools)
        {
            foreach (var t in Thoughts(query, request.ReasoningEffort))
            {
                if ((coveredThinking -= t.Length) < 0) await PauseAsync(ct);
                yield return new ModelUpdate.Thinking(t);
            }
        }

        var offered = request.Tools.Select(t => t.Name).ToHashSet();
        var call = afterTools ? FollowUpCall(query, offered) : PlanCall(query, offered);
        if (call is not null)
        {
            var turn = messages.Count(m => m.Role == ChatMessage.Assistant);
            yield return new ModelUpdate.ToolCalls([new ToolCall($"call_{turn}_0", call.Value.Name, call.Value.Args)]);
            yield return new ModelUpdate.Usage(Tokens(messages), 8);
            yield break;
        }

        var counting = false;
        var answer = afterTools ? AnswerFromTools(messages) : Answer(query, messages, out counting);
        // Counting streams one number per chunk (a long, steady stream for cancel demos); other answers in ~10 chunks.
        var chunks = counting ? answer.Split(' ').Select((w, i) => i == 0 ? w : " " + w).ToList() : Chunk(answer, 10);
        foreach (var c in chunks)
        {
            if ((coveredText -= c.Length) < 0) await PauseAsync(ct);
            yield return new ModelUpdate.Text(c);
        }
        yield return new ModelUpdate.Usage(Tokens(messages), answer.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    private async Task PauseAsync(CancellationToken ct)
    {
        if (options.ChunkDelayMs > 0) await Task.Delay(options.ChunkDelayMs, ct);
        else ct.ThrowIfCancellationRequested();
    }

    private static int Tokens(IReadOnlyList<ChatMessage> messages) =>
        messages.Sum(m => (m.Content ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);

    private static IEnumerable<string> Thoughts(string query, string? effort)
    {
        yield return "Let me think about this. ";
        yield return $"The user asks: \"{Shorten(query, 120)}\". ";
        if (effort == "high")
        {
            yield return "Deep mode: I will plan first, check which tools apply, and verify the result. ";
            yield return "Plan: 1) understand the request 2) use tools if needed 3) answer precisely. ";
        }
        yield return "I know what to do.";
    }

    private static (string Name, string Args)? PlanCall(string q, HashSet<string> offered)
    {
        Match m;
        if ((m = NamedToolIntent().Match(q)).Success)
            return (m.Groups["name"].Value, NamedArgs(m.Groups["args"].Success ? m.Groups["args"].Value.Trim() : ""));
        if (offered.Contains("write_file") && (m = WriteIntent().Match(q)).Success)
            return ("write_file", Args(("path", m.Groups["path"].Value), ("content", m.Groups["content"].Value.Trim().Trim('"', '\''))));
        if (offered.Contains("read_file") && (m = ReadIntent().Match(q)).Success)
            return ("read_file", Args(("path", m.Groups["path"].Value)));
        if (offered.Contains("list_files") && LoopIntent().IsMatch(q))
            return ("list_files", Args(("path", "")));
        if (offered.Contains("list_files") && (m = ListIntent().Match(q)).Success)
            return ("list_files", Args(("path", m.Groups["dir"].Success ? m.Groups["dir"].Value : "")));
        if (offered.Contains("remember") && (m = RememberIntent().Match(q)).Success)
            return ("remember", Args(("content", m.Groups["x"].Value)));
        if (offered.Contains("recall") && (m = RecallIntent().Match(q)).Success)
            return ("recall", Args(("query", m.Groups["q"].Value)));
        return null;
    }

    /// <summary>After tool results: only the "keep listing" request asks for more.</summary>
    private static (string Name, string Args)? FollowUpCall(string q, HashSet<string> offered) =>
        offered.Contains("list_files") && LoopIntent().IsMatch(q) ? ("list_files", Args(("path", ""))) : null;

    /// <summary>"{…}" as given (the model's JSON, right or wrong), else key=value pairs with numbers and booleans as such.</summary>
    private static string NamedArgs(string text)
    {
        if (text.StartsWith('{')) return text;
        var args = new Dictionary<string, object>();
        foreach (Match p in ArgPair().Matches(text))
        {
            var key = p.Groups["k"].Value;
            if (p.Groups["q"].Success) { args[key] = p.Groups["q"].Value; continue; }
            var raw = p.Groups["v"].Value;
            args[key] = long.TryParse(raw, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l) ? l
                : double.TryParse(raw, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d
                : raw is "true" or "false" ? raw == "true" : raw;
        }
        return JsonSerializer.Serialize(args);
    }

    private static string Args(params (string Key, string Value)[] kv) =>
        JsonSerializer.Serialize(kv.ToDictionary(x => x.Key, x => x.Value));

    private static string AnswerFromTools(IReadOnlyList<ChatMessage> messages)
    {
        var results = new List<ChatMessage>();
        for (var i = messages.Count - 1; i >= 0 && messages[i].Role == ChatMessage.Tool; i--) results.Insert(0, messages[i]);
        var sb = new StringBuilder();
        foreach (var r in results)
        {
            var content = r.Content ?? "";
            sb.Append(r.Name switch
            {
                _ when content.StartsWith("REJECTED", StringComparison.Ordinal) => $"The {r.Name} call was rejected by the user: {content[8..].TrimStart(':', ' ')}. I did not do it. ",
                _ when content.StartsWith("ERROR", StringComparison.Ordinal) => $"The {r.Name} call failed: {content[5..].TrimStart(':', ' ')}. ",
                "list_files" => $"Files in your workspace: {content}. ",
                "read_file" => $"The file says: {content} ",
                "write_file" => $"Done: {content}. ",
                "remember" => $"I will remember that. ({content}) ",
                "recall" => $"Here is what I remember: {content} ",
                _ => $"{r.Name} returned: {content} ",
            });
        }
        return sb.ToString().Trim();
    }

    private static string Answer(string query, IReadOnlyList<ChatMessage> messages, out bool counting)
    {
        var m = CountIntent().Match(query);
        counting = false;
        if (m.Success && int.TryParse(m.Groups["n"].Value, out var n))
        {
            counting = true;
            return string.Join(' ', Enumerable.Range(1, Math.Max(1, n)));
        }
        if (PreviousIntent().IsMatch(query))
        {
            var users = messages.Where(x => x.Role == ChatMessage.User).ToList();
            return users.Count >= 2 ? $"Before this you said: \"{users[^2].Content}\"" : "This is the first thing you have said in this conversation.";
        }
        var memories = RecalledMemories(messages);
        var answer = $"You said: {query}";
        if (memories.Count > 0) answer += " What I remember about you: " + string.Join("; ", memories) + ".";
        return answer;
    }

    /// <summary>Memories the loop put into the system prompt, one per "- " line after the "Relevant memories" header.</summary>
    private static List<string> RecalledMemories(IReadOnlyList<ChatMessage> messages)
    {
        var list = new List<string>();
        foreach (var s in messages.Where(x => x.Role == ChatMessage.System))
        {
            var at = s.Content?.IndexOf("Relevant memories", StringComparison.Ordinal) ?? -1;
            if (at < 0) continue;
            list.AddRange(s.Content![at..].Split('\n').Where(l => l.StartsWith("- ", StringComparison.Ordinal)).Select(l => l[2..].Trim()));
        }
        return list;
    }

    private static List<string> Chunk(string text, int parts)
    {
        var words = text.Split(' ');
        var per = Math.Max(1, (int)Math.Ceiling(words.Length / (double)parts));
        var chunks = new List<string>();
        for (var i = 0; i < words.Length; i += per)
        {
            var piece = string.Join(' ', words.Skip(i).Take(per));
            chunks.Add(i == 0 ? piece : " " + piece);
        }
        return chunks;
    }

    private static string Shorten(string s, int n) => s.Length <= n ? s : s[..n] + "…";
}
