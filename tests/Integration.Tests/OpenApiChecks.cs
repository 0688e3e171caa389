using System.Text.Json.Nodes;

namespace Agents.Micro.Integration.Tests;

/// <summary>
/// The structural rules of an OpenAPI 3.x document that a client generator trips over: required top-level fields,
/// path items with operations that have responses, path parameters declared for every template variable, unique
/// operation ids, and every <c>$ref</c> pointing at something that exists.
/// </summary>
public static class OpenApiChecks
{
    public static readonly string[] Methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    public static List<string> Validate(JsonObject doc)
    {
        var problems = new List<string>();
        if (doc["openapi"]?.GetValue<string>() is not { } version || !version.StartsWith("3.")) problems.Add($"openapi is '{doc["openapi"]}', not 3.x");
        if (doc["info"]?["title"] is null || doc["info"]?["version"] is null) problems.Add("info.title and info.version are required");
        if (doc["paths"] is not JsonObject paths) { problems.Add("no paths object"); return problems; }

        var operationIds = new HashSet<string>();
        foreach (var (path, item) in paths)
        {
            if (!path.StartsWith('/')) problems.Add($"path '{path}' does not start with /");
            if (item is not JsonObject ops) { problems.Add($"{path}: not an object"); continue; }
            var templateVars = System.Text.RegularExpressions.Regex.Matches(path, @"\{([^}]+)\}").Select(m => m.Groups[1].Value).ToList();
            foreach (var (method, opNode) in ops)
            {
                if (method is "parameters" or "summary" or "description" or "servers") continue;
                if (!Methods.Contains(method)) { problems.Add($"{path}: unknown key '{method}'"); continue; }
                if (opNode is not JsonObject op) { problems.Add($"{method} {path}: not an object"); continue; }
                if (op["responses"] is not JsonObject responses || responses.Count == 0) problems.Add($"{method} {path}: no responses");
                else foreach (var (status, _) in responses)
                    if (status != "default" && !(status.Length == 3 && (char.IsDigit(status[0]) && (status[1..].All(char.IsDigit) || status[1..] == "XX"))))
                        problems.Add($"{method} {path}: bad response key '{status}'");
                if (op["operationId"]?.GetValue<string>() is { } id && !operationIds.Add(id)) problems.Add($"duplicate operationId '{id}'");
                var declared = ((op["parameters"] as JsonArray) ?? []).Concat((ops["parameters"] as JsonArray) ?? [])
                    .Select(p => Resolve(doc, p) as JsonObject)
                    .Where(p => p?["in"]?.GetValue<string>() == "path")
                    .Select(p => p!["name"]!.GetValue<string>()).ToHashSet();
                foreach (var v in templateVars.Where(v => !declared.Contains(v))) problems.Add($"{method} {path}: path parameter '{v}' not declared");
            }
        }
        CheckRefs(doc, doc, "#", problems);
        return problems;
    }

    private static JsonNode? Resolve(JsonObject doc, JsonNode? node) =>
        node is JsonObject o && o["$ref"]?.GetValue<string>() is { } r ? Pointer(doc, r) : node;

    private static JsonNode? Pointer(JsonObject doc, string reference)
    {
        if (!reference.StartsWith("#/")) return null;
        JsonNode? node = doc;
        foreach (var raw in reference[2..].Split('/'))
        {
            var key = Uri.UnescapeDataString(raw).Replace("~1", "/").Replace("~0", "~");
            node = node is JsonObject o && o.TryGetPropertyValue(key, out var next) ? next : null;
            if (node is null) return null;
        }
        return node;
    }

    private static void CheckRefs(JsonObject doc, JsonNode? node, string at, List<string> problems)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["$ref"] is JsonValue v && v.TryGetValue<string>(out var r) && Pointer(doc, r) is null)
                    problems.Add($"{at}: $ref '{r}' does not resolve");
                foreach (var (k, child) in o) CheckRefs(doc, child, $"{at}/{k}", problems);
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++) CheckRefs(doc, a[i], $"{at}/{i}", problems);
                break;
        }
    }
}
