using YamlDotNet.RepresentationModel;

namespace Agents.Micro.Deployment.Tests;

/// <summary>One service of a compose file, as far as these tests look at it.</summary>
internal sealed record ComposeService(
    string Name,
    string? BuildContext,
    string? Dockerfile,
    string? ContainerName,
    IReadOnlyList<string> Ports,
    IReadOnlyDictionary<string, string> Environment);

/// <summary>A compose file's services. Parse the output of <c>docker-compose config</c>: anchors and merges resolved.</summary>
internal sealed class ComposeModel(IReadOnlyDictionary<string, ComposeService> services)
{
    public IReadOnlyDictionary<string, ComposeService> Services { get; } = services;

    public ComposeService Service(string name) =>
        Services.TryGetValue(name, out var service) ? service
            : throw new Xunit.Sdk.XunitException($"docker-compose.yml has no service '{name}' (it has: {string.Join(", ", Services.Keys)})");

    public static ComposeModel Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        var services = new Dictionary<string, ComposeService>(StringComparer.Ordinal);
        var serviceNodes = Child<YamlMappingNode>(root, "services")?.Children ?? Enumerable.Empty<KeyValuePair<YamlNode, YamlNode>>();
        foreach (var (key, value) in serviceNodes)
        {
            var node = (YamlMappingNode)value;
            var name = ((YamlScalarNode)key).Value!;
            string? context = null, dockerfile = null;
            switch (Child<YamlNode>(node, "build"))
            {
                case YamlScalarNode s: context = s.Value; break;
                case YamlMappingNode m: context = Scalar(m, "context"); dockerfile = Scalar(m, "dockerfile"); break;
            }
            var ports = Child<YamlSequenceNode>(node, "ports")?.Children.Select(Describe).ToList() ?? [];
            services[name] = new ComposeService(name, context, dockerfile, Scalar(node, "container_name"), ports, Environment(node));
        }
        return new ComposeModel(services);
    }

    // environment is a mapping (KEY: value) or a list (KEY=value); docker-compose config writes the mapping.
    private static Dictionary<string, string> Environment(YamlMappingNode service)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        switch (Child<YamlNode>(service, "environment"))
        {
            case YamlMappingNode m:
                foreach (var (k, v) in m.Children) env[((YamlScalarNode)k).Value!] = (v as YamlScalarNode)?.Value ?? "";
                break;
            case YamlSequenceNode s:
                foreach (var item in s.Children.OfType<YamlScalarNode>())
                {
                    var text = item.Value ?? "";
                    var eq = text.IndexOf('=');
                    env[eq < 0 ? text : text[..eq]] = eq < 0 ? "" : text[(eq + 1)..];
                }
                break;
        }
        return env;
    }

    private static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value ?? "",
        YamlMappingNode m => string.Join(",", m.Children.Select(c => $"{c.Key}={c.Value}")),
        _ => node.ToString(),
    };

    private static T? Child<T>(YamlMappingNode node, string key) where T : YamlNode =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child as T : null;

    private static string? Scalar(YamlMappingNode node, string key) => Child<YamlScalarNode>(node, key)?.Value;
}
