using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing.Template;

namespace Agents.Micro.Gateway.Docs;

/// <summary>
/// Merges the services' OpenAPI documents into the one the gateway serves: paths (only those a gateway route leads to
/// that service), components (a name two services use for different things is renamed in the later one, with its
/// <c>$ref</c>s), tags, one bearer security scheme for everything, and the gateway's own public endpoints.
/// A service whose document is missing is named in <c>info.description</c> and in <c>x-agents-services</c>.
/// </summary>
public static class OpenApiMerger
{
    public const string BearerScheme = "bearerAuth";
    private const string ComponentsPrefix = "#/components/";

    public static JsonObject Merge(IReadOnlyList<ApiDocumentPart> parts, JsonObject gatewayPaths)
    {
        var paths = new JsonObject();
        var components = new JsonObject();
        var tags = new JsonArray();
        var tagNames = new HashSet<string>(StringComparer.Ordinal);
        var services = new JsonArray();
        var missing = new List<string>();
        string? openApiVersion = null;

        foreach (var part in parts)
        {
            if (part.Document is null)
            {
                missing.Add(part.Error ?? $"{part.Service} unavailable");
                services.Add(new JsonObject { ["name"] = part.Service, ["available"] = false, ["error"] = part.Error });
                continue;
            }
            services.Add(new JsonObject { ["name"] = part.Service, ["available"] = true });
            var doc = (JsonObject)part.Document.DeepClone();
            openApiVersion ??= doc["openapi"]?.GetValue<string>();

            RenameClashingComponents(doc, components, part.Id);
            MergeComponents(doc, components);
            var matchers = part.Routes?.Select(Matcher).ToList();
            if (doc["paths"] is JsonObject docPaths)
                foreach (var (path, item) in docPaths)
                {
                    if (item is not JsonObject operations) continue;
                    if (matchers is not null && !matchers.Any(m => m.TryMatch(path, [])) ) continue;
                    if (paths[path] is JsonObject existing)
                    {
                        foreach (var (key, value) in operations)
                            if (!existing.ContainsKey(key)) existing[key] = value?.DeepClone();
                    }
                    else paths[path] = operations.DeepClone();
                }
            if (doc["tags"] is JsonArray docTags)
                foreach (var tag in docTags.OfType<JsonObject>())
                    if (tag["name"]?.GetValue<string>() is { } name && tagNames.Add(name)) tags.Add(tag.DeepClone());
        }

        foreach (var (path, item) in gatewayPaths)
            if (!paths.ContainsKey(path)) paths[path] = item?.DeepClone();
        if (gatewayPaths.Count > 0 && tagNames.Add("gateway"))
            tags.Add(new JsonObject { ["name"] = "gateway", ["description"] = "the gateway's own public endpoints (no token)" });

        var schemes = components["securitySchemes"] as JsonObject ?? new JsonObject();
        schemes[BearerScheme] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer", ["bearerFormat"] = "token",
            ["description"] = "A token issued with `tokens create` (Authorization: Bearer <token>)." };
        components["securitySchemes"] = schemes;

        var description = "The whole public API behind the gateway: the v1 API (/api/v1/...), the agent-service API (/agent/..., /system/info), "
            + "files and memories. Every request needs `Authorization: Bearer <token>` except the gateway's own endpoints. "
            + "Every error is {\"success\": false, \"error\": \"...\"}.";
        if (missing.Count > 0) description += " Not included right now: " + string.Join("; ", missing) + ".";

        return new JsonObject
        {
            ["openapi"] = openApiVersion ?? "3.1.1",
            ["info"] = new JsonObject { ["title"] = "Agents.Micro API", ["version"] = "v1", ["description"] = description },
            ["paths"] = SortedPaths(paths),
            ["components"] = components,
            ["security"] = new JsonArray(new JsonObject { [BearerScheme] = new JsonArray() }),
            ["tags"] = tags,
            ["x-agents-services"] = services,
        };
    }

    private static TemplateMatcher Matcher(string pattern) => new(TemplateParser.Parse(pattern.TrimStart('/')), []);

    private static JsonObject SortedPaths(JsonObject paths)
    {
        var sorted = new JsonObject();
        foreach (var key in paths.Select(p => p.Key).Order(StringComparer.Ordinal).ToList())
        {
            var value = paths[key];
            paths.Remove(key);
            sorted[key] = value;
        }
        return sorted;
    }

    /// <summary>A component another service already defines differently gets the part's id as a prefix, and every reference follows.</summary>
    private static void RenameClashingComponents(JsonObject doc, JsonObject merged, string partId)
    {
        if (doc["components"] is not JsonObject docComponents) return;
        var renames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (kind, defs) in docComponents)
        {
            if (kind == "securitySchemes" || defs is not JsonObject docDefs || merged[kind] is not JsonObject mergedDefs) continue;
            foreach (var (name, def) in docDefs)
            {
                if (mergedDefs[name] is not { } existing || JsonNode.DeepEquals(existing, def)) continue;
                var letters = new string(partId.Where(char.IsLetterOrDigit).ToArray());
                var prefix = letters.Length == 0 ? "Service" : char.ToUpperInvariant(letters[0]) + letters[1..];
                var renamed = prefix + name;
                for (var i = 2; mergedDefs.ContainsKey(renamed) || docDefs.ContainsKey(renamed); i++) renamed = $"{prefix}{name}{i}";
                renames[$"{ComponentsPrefix}{kind}/{name}"] = $"{ComponentsPrefix}{kind}/{renamed}";
            }
        }
        if (renames.Count == 0) return;
        foreach (var (from, to) in renames)
        {
            var kind = from[ComponentsPrefix.Length..].Split('/')[0];
            var defs = (JsonObject)docComponents[kind]!;
            var oldName = from[(ComponentsPrefix.Length + kind.Length + 1)..];
            var value = defs[oldName];
            defs.Remove(oldName);
            defs[to[(ComponentsPrefix.Length + kind.Length + 1)..]] = value;
        }
        RewriteRefs(doc, renames);
    }

    private static void RewriteRefs(JsonNode? node, Dictionary<string, string> renames)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["$ref"] is JsonValue r && r.TryGetValue<string>(out var target) && renames.TryGetValue(target, out var renamed))
                    o["$ref"] = renamed;
                foreach (var (_, child) in o.ToList()) RewriteRefs(child, renames);
                break;
            case JsonArray a:
                foreach (var child in a) RewriteRefs(child, renames);
                break;
        }
    }

    private static void MergeComponents(JsonObject doc, JsonObject merged)
    {
        if (doc["components"] is not JsonObject docComponents) return;
        foreach (var (kind, defs) in docComponents)
        {
            if (kind == "securitySchemes" || defs is not JsonObject docDefs) continue;
            if (merged[kind] is not JsonObject mergedDefs) merged[kind] = mergedDefs = new JsonObject();
            foreach (var (name, def) in docDefs)
                if (!mergedDefs.ContainsKey(name)) mergedDefs[name] = def?.DeepClone();
        }
    }
}
