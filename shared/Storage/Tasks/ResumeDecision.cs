using System.Text.Json;
using System.Text.Json.Nodes;

namespace Agents.Micro.Storage.Tasks;

/// <summary>
/// A human's decision on a pending tool call. Two vocabularies are in use for the same four decisions —
/// LangGraph's HumanResponse (<c>accept</c>, <c>edit</c>, <c>response</c>, <c>ignore</c>) and its HITL middleware
/// (<c>approve</c>, <c>edit</c>, <c>reject</c>, <c>respond</c>) — so both are accepted and normalised here.
/// </summary>
public sealed record ResumeDecision(string InterruptId, string Type, JsonObject? EditedArgs, string? Message)
{
    public const string Accept = "accept";
    public const string Edit = "edit";
    public const string Reject = "reject";
    public const string Respond = "respond";

    public static readonly string[] All = [Accept, Edit, Reject, Respond];

    public static string? Normalize(string? responseType) => responseType?.Trim().ToLowerInvariant() switch
    {
        "accept" or "approve" => Accept,
        "edit" => Edit,
        "reject" or "ignore" => Reject,
        "respond" or "response" => Respond,
        _ => null,
    };

    /// <summary>Builds a decision from an API's <c>response_type</c> and <c>args</c>, or explains what is wrong.</summary>
    public static (ResumeDecision? Decision, string? Error) Parse(string interruptId, string? responseType, JsonElement? args, IReadOnlyCollection<string> allowed)
    {
        var type = Normalize(responseType);
        if (type is null)
            return (null, $"unknown response_type '{responseType}' (use accept|approve, edit, reject|ignore, respond|response)");
        if (!allowed.Contains(type))
            return (null, $"response_type '{type}' is not allowed for this interrupt (allowed: {string.Join(", ", allowed)})");
        var obj = args is { ValueKind: JsonValueKind.Object } a ? JsonNode.Parse(a.GetRawText())!.AsObject() : null;
        switch (type)
        {
            case Edit:
                if (obj is null) return (null, "edit needs 'args': the tool's new arguments as an object");
                // LangGraph sends {"action": name, "args": {...}}; HITL sends {"edited_action": {"name", "args"}}; plain args otherwise.
                if (obj["edited_action"] is JsonObject ea && ea["args"] is JsonObject eaArgs) obj = eaArgs.DeepClone().AsObject();
                else if (obj["args"] is JsonObject inner && obj.ContainsKey("action")) obj = inner.DeepClone().AsObject();
                return (new ResumeDecision(interruptId, Edit, obj, null), null);
            case Respond:
                var text = TextOf(obj, "response", "message", "text", "content");
                if (string.IsNullOrWhiteSpace(text)) return (null, "respond needs 'args': {\"response\": \"your answer to the model\"}");
                return (new ResumeDecision(interruptId, Respond, null, text), null);
            case Reject:
                return (new ResumeDecision(interruptId, Reject, null, TextOf(obj, "reason", "message", "response")), null);
            default:
                return (new ResumeDecision(interruptId, Accept, null, null), null);
        }
    }

    private static string? TextOf(JsonObject? o, params string[] keys)
    {
        if (o is null) return null;
        foreach (var k in keys)
        {
            if (o[k] is JsonValue v && v.TryGetValue<string>(out var s)) return s;
        }
        return null;
    }

    public string ToJson() => JsonSerializer.Serialize(this, TaskOptions.Json);

    public static ResumeDecision? FromJson(string? json) =>
        string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<ResumeDecision>(json, TaskOptions.Json);
}
