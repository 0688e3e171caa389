using System.Globalization;
using System.Text.Json;
using YamlDotNet.Serialization;

namespace Agents.Micro.TaskApi.Tests;

/// <summary>
/// Checks JSON bodies against the schemas of an OpenAPI 3.0 YAML document — the subset the v1 spec uses: <c>$ref</c>,
/// <c>type</c>, <c>nullable</c>, <c>required</c>, <c>properties</c>, <c>items</c>, <c>additionalProperties</c>. A keyword
/// outside that subset is reported as an error rather than skipped, so a spec that grows new rules makes the tests fail
/// until this validator learns them.
/// </summary>
public sealed class OpenApiSchemaValidator
{
    private static readonly HashSet<string> Known =
        ["$ref", "type", "nullable", "required", "properties", "items", "additionalProperties", "description", "example", "format", "default"];

    private readonly Dictionary<object, object> _root;

    private OpenApiSchemaValidator(Dictionary<object, object> root) => _root = root;

    public static OpenApiSchemaValidator Load(string path) =>
        new((Dictionary<object, object>)new DeserializerBuilder().Build().Deserialize<object>(File.ReadAllText(path))!);

    /// <summary>The problems of a response: a status the operation does not declare, a non-JSON body, or a schema mismatch.</summary>
    public IReadOnlyList<string> ValidateResponse(string pathTemplate, string method, int status, string? contentType, JsonElement body)
    {
        var op = Operation(pathTemplate, method);
        var where = $"{method.ToUpperInvariant()} {pathTemplate} {status}";
        if (!Map(op["responses"]).TryGetValue(status.ToString(CultureInfo.InvariantCulture), out var response))
            return [$"{where}: status {status} is not declared by the spec"];
        var content = Map(Map(response)["content"]);
        if (!content.TryGetValue("application/json", out var media))
            return [$"{where}: the spec declares no JSON body for this status"];
        if (contentType != "application/json")
            return [$"{where}: Content-Type is '{contentType}', the spec says application/json"];
        var errors = new List<string>();
        Validate(Map(media)["schema"], body, "$", errors);
        return errors.Select(e => $"{where}: {e}").ToList();
    }

    /// <summary>The problems of a request body (so that the tests themselves only send what the spec allows).</summary>
    public IReadOnlyList<string> ValidateRequest(string pathTemplate, string method, JsonElement body)
    {
        var content = Map(Map(Operation(pathTemplate, method)["requestBody"])["content"]);
        var errors = new List<string>();
        Validate(Map(content["application/json"])["schema"], body, "$", errors);
        return errors.Select(e => $"{method.ToUpperInvariant()} {pathTemplate} request: {e}").ToList();
    }

    /// <summary>The property names of a component schema, sorted.</summary>
    public string[] PropertiesOf(string componentSchema) =>
        Map(Map(Map(Map(_root["components"])["schemas"])[componentSchema])["properties"]).Keys.Cast<string>().Order(StringComparer.Ordinal).ToArray();

    private Dictionary<object, object> Operation(string pathTemplate, string method)
    {
        var paths = Map(_root["paths"]);
        if (!paths.TryGetValue(pathTemplate, out var item)) throw new ArgumentException($"the spec has no path {pathTemplate}");
        if (!Map(item).TryGetValue(method.ToLowerInvariant(), out var op)) throw new ArgumentException($"the spec has no {method} {pathTemplate}");
        return Map(op);
    }

    private void Validate(object schemaNode, JsonElement value, string at, List<string> errors)
    {
        var schema = Resolve(Map(schemaNode));
        foreach (var key in schema.Keys.Cast<string>().Where(k => !Known.Contains(k)))
            errors.Add($"{at}: schema keyword '{key}' is not supported by this validator");

        if (value.ValueKind == JsonValueKind.Null)
        {
            if (!IsTrue(schema, "nullable")) errors.Add($"{at}: null, but the schema is not nullable");
            return;
        }
        if (schema.TryGetValue("type", out var typeNode) && !HasType(value, (string)typeNode))
        {
            errors.Add($"{at}: expected {typeNode}, got {value.ValueKind.ToString().ToLowerInvariant()}");
            return;
        }
        if (value.ValueKind == JsonValueKind.Object) ValidateObject(schema, value, at, errors);
        if (value.ValueKind == JsonValueKind.Array && schema.TryGetValue("items", out var items))
        {
            var i = 0;
            foreach (var item in value.EnumerateArray()) Validate(items, item, $"{at}[{i++}]", errors);
        }
    }

    private void ValidateObject(Dictionary<object, object> schema, JsonElement value, string at, List<string> errors)
    {
        var properties = schema.TryGetValue("properties", out var p) ? Map(p) : new Dictionary<object, object>();
        if (schema.TryGetValue("required", out var required))
        {
            foreach (var name in ((List<object>)required).Cast<string>())
            {
                if (!value.TryGetProperty(name, out _)) errors.Add($"{at}: required property '{name}' is missing");
            }
        }
        schema.TryGetValue("additionalProperties", out var additional);
        foreach (var prop in value.EnumerateObject())
        {
            if (properties.TryGetValue(prop.Name, out var propSchema))
                Validate(propSchema, prop.Value, $"{at}.{prop.Name}", errors);
            else if (additional is string s && s == "false")
                errors.Add($"{at}: property '{prop.Name}' is not allowed (additionalProperties: false)");
            else if (additional is Dictionary<object, object> extra)
                Validate(extra, prop.Value, $"{at}.{prop.Name}", errors);
        }
    }

    private Dictionary<object, object> Resolve(Dictionary<object, object> schema)
    {
        for (var depth = 0; schema.TryGetValue("$ref", out var r); depth++)
        {
            var reference = (string)r;
            if (depth > 16 || !reference.StartsWith("#/", StringComparison.Ordinal)) throw new InvalidOperationException($"unsupported $ref '{reference}'");
            object node = _root;
            foreach (var part in reference[2..].Split('/')) node = Map(node)[part.Replace("~1", "/").Replace("~0", "~")];
            schema = Map(node);
        }
        return schema;
    }

    private static bool HasType(JsonElement v, string type) => type switch
    {
        "object" => v.ValueKind == JsonValueKind.Object,
        "array" => v.ValueKind == JsonValueKind.Array,
        "string" => v.ValueKind == JsonValueKind.String,
        "boolean" => v.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "number" => v.ValueKind == JsonValueKind.Number,
        "integer" => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out _),
        _ => throw new InvalidOperationException($"unsupported schema type '{type}'"),
    };

    private static bool IsTrue(Dictionary<object, object> schema, string key) => schema.TryGetValue(key, out var v) && v is string s && s == "true";

    private static Dictionary<object, object> Map(object node) =>
        node as Dictionary<object, object> ?? throw new InvalidOperationException($"expected a mapping in the spec, got {node?.GetType().Name ?? "null"}");
}
