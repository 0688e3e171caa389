namespace Agents.Micro.AgentWorker.Tools;

/// <summary>Reads tool arguments with errors the model can act on.</summary>
public static class ToolArgs
{
    public static string String(JsonElement args, string name, bool required = true)
    {
        if (args.ValueKind == JsonValueKind.Object && args.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String)
            return v.GetString()!;
        if (required) throw new ToolException($"argument '{name}' (string) is required");
        return "";
    }

    public static int Int(JsonElement args, string name, int fallback, int min, int max)
    {
        if (args.ValueKind == JsonValueKind.Object && args.TryGetProperty(name, out var v))
        {
            if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i)) return Math.Clamp(i, min, max);
            throw new ToolException($"argument '{name}' must be an integer");
        }
        return fallback;
    }

    public static JsonElement Schema(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
