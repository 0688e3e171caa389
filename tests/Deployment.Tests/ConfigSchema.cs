using System.Text.Json;
using System.Text.RegularExpressions;

namespace Agents.Micro.Deployment.Tests;

/// <summary>
/// The configuration keys one service reads, found by scanning its source and shared/: options classes (a
/// <c>SectionName</c> constant, their public properties, nested option classes, lists and dictionaries), keys read as
/// string literals (<c>Configuration["A:B"]</c>), and the keys of its appsettings*.json.
/// </summary>
internal sealed partial class ConfigSchema
{
    private readonly Dictionary<string, string> _sectionClasses = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Dictionary<string, string>> _classProperties = new(StringComparer.Ordinal);
    private readonly HashSet<string> _literalKeys = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _settingsKeys = new(StringComparer.OrdinalIgnoreCase);

    public static ConfigSchema ForService(string folder)
    {
        var schema = new ConfigSchema();
        foreach (var file in Repo.SourceFiles("shared", "*.cs").Concat(Repo.SourceFiles($"services/{folder}", "*.cs")))
            schema.ScanSource(File.ReadAllText(file));
        foreach (var file in Repo.SourceFiles($"services/{folder}", "appsettings*.json"))
            Flatten(JsonDocument.Parse(File.ReadAllText(file), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }).RootElement, "", schema._settingsKeys);
        return schema;
    }

    public IReadOnlyCollection<string> Sections => _sectionClasses.Keys;

    /// <summary>Null when the service reads <paramref name="key"/> (colon form); otherwise why not.</summary>
    public string? Explain(string key)
    {
        if (_settingsKeys.Contains(key) || _literalKeys.Contains(key)) return null;
        var segments = key.Split(':');
        if (!_sectionClasses.TryGetValue(segments[0], out var type))
            return $"no options class has SectionName \"{segments[0]}\" and no appsettings.json has the key";
        for (var i = 1; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (_classProperties.TryGetValue(type, out var properties))
            {
                var match = properties.FirstOrDefault(p => string.Equals(p.Key, segment, StringComparison.OrdinalIgnoreCase));
                if (match.Key is null)
                    return $"{type} has no property \"{segment}\" (it has: {string.Join(", ", properties.Keys)})";
                type = match.Value;
            }
            else if (ElementType(type) is { } element)
            {
                if (!int.TryParse(segment, out _)) return $"\"{segment}\" should be a list index (0, 1, …) into {type}";
                type = element;
            }
            else if (ValueType(type) is { } value) type = value;
            else return $"{string.Join(':', segments[..i])} is a single value ({type}), it has no \"{segment}\"";
        }
        return _classProperties.ContainsKey(type) || ElementType(type) is not null || ValueType(type) is not null
            ? $"{key} is a whole section ({type}), not a value"
            : null;
    }

    private void ScanSource(string source)
    {
        var classes = ClassDeclaration().Matches(source);
        for (var i = 0; i < classes.Count; i++)
        {
            // Members between this declaration and the next belong to it (one level of nesting is all options use).
            var start = classes[i].Index;
            var end = i + 1 < classes.Count ? classes[i + 1].Index : source.Length;
            var body = source[start..end];
            var name = classes[i].Groups["name"].Value;
            var properties = _classProperties.TryGetValue(name, out var existing) ? existing : _classProperties[name] = new(StringComparer.Ordinal);
            foreach (Match p in PublicProperty().Matches(body)) properties[p.Groups["name"].Value] = Normalize(p.Groups["type"].Value);
            if (SectionNameConstant().Match(body) is { Success: true } section) _sectionClasses[section.Groups["section"].Value] = name;
        }
        foreach (Match literal in ConfigKeyLiteral().Matches(source)) _literalKeys.Add(literal.Groups["key"].Value);
    }

    private static void Flatten(JsonElement element, string prefix, HashSet<string> keys)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject()) Flatten(property.Value, Join(prefix, property.Name), keys);
                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray()) Flatten(item, Join(prefix, (index++).ToString()), keys);
                break;
            default:
                keys.Add(prefix);
                break;
        }
        static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + ":" + name;
    }

    private static string Normalize(string type) => WhiteSpace().Replace(type, "").TrimEnd('?');

    private static string? ElementType(string type)
    {
        if (type.EndsWith("[]", StringComparison.Ordinal)) return type[..^2];
        var m = Generic().Match(type);
        return m.Success && m.Groups["outer"].Value is "List" or "IList" or "IReadOnlyList" or "ICollection" or "IEnumerable" or "HashSet" or "ISet"
            ? m.Groups["args"].Value : null;
    }

    private static string? ValueType(string type)
    {
        var m = Generic().Match(type);
        if (!m.Success || m.Groups["outer"].Value is not ("Dictionary" or "IDictionary" or "IReadOnlyDictionary")) return null;
        var args = m.Groups["args"].Value;
        var depth = 0;
        for (var i = 0; i < args.Length; i++)
        {
            depth += args[i] switch { '<' => 1, '>' => -1, _ => 0 };
            if (args[i] == ',' && depth == 0) return args[(i + 1)..];
        }
        return null;
    }

    [GeneratedRegex(@"\b(?:class|record|struct)\s+(?<name>[A-Z]\w*)")]
    private static partial Regex ClassDeclaration();

    [GeneratedRegex(@"public\s+(?:required\s+)?(?<type>[\w.]+(?:<[\w.,\s<>?\[\]]+>)?(?:\[\])?\??)\s+(?<name>[A-Z]\w*)\s*\{\s*get\s*;")]
    private static partial Regex PublicProperty();

    [GeneratedRegex(@"const\s+string\s+SectionName\s*=\s*""(?<section>[^""]+)""")]
    private static partial Regex SectionNameConstant();

    [GeneratedRegex(@"""(?<key>[A-Za-z]\w*(?::\w+)+)""")]
    private static partial Regex ConfigKeyLiteral();

    [GeneratedRegex(@"^(?<outer>\w+)<(?<args>.+)>$")]
    private static partial Regex Generic();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();
}
