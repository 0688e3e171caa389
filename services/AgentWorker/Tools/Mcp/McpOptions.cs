using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace Agents.Micro.AgentWorker.Tools.Mcp;

/// <summary>
/// MCP tool servers (section <c>Mcp</c>): each entry of <c>Mcp:Servers</c> is a server the workers connect to at start-up.
/// Its tools are offered to the model as <c>{server}__{tool}</c>. README "MCP tool servers" shows both kinds in compose.
/// </summary>
public sealed class McpOptions
{
    public const string SectionName = "Mcp";

    public Dictionary<string, McpServerOptions> Servers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How long the worker's start waits for its servers' first connection before it takes tasks, so its first tasks
    /// see their tools. A server that is down costs nothing (the attempt fails at once); one that hangs at most this.
    /// </summary>
    [Range(0, 300)]
    public int StartupWaitSeconds { get; set; } = 15;

    /// <summary>A server's name is part of its tools' names: lower-case letters, digits and single hyphens.</summary>
    public static bool IsValidServerName(string name) => ServerName().IsMatch(name) && !name.Contains("--", StringComparison.Ordinal);

    private static readonly Regex ServerNamePattern = new("^[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])?$", RegexOptions.Compiled);
    private static Regex ServerName() => ServerNamePattern;

    /// <summary>Every mistake of the section, with the setting's name: the worker refuses to start with any.</summary>
    public IEnumerable<string> Errors()
    {
        foreach (var (name, s) in Servers)
        {
            var at = $"Mcp:Servers:{name}";
            if (!IsValidServerName(name)) yield return $"{at}: a server name must be 1-24 lower-case letters, digits or single hyphens";
            if (!s.Enabled) continue;
            var stdio = !string.IsNullOrWhiteSpace(s.Command);
            var http = !string.IsNullOrWhiteSpace(s.Url);
            if (stdio == http) yield return $"{at}: set exactly one of Command (a stdio server) or Url (a Streamable HTTP server)";
            if (http && (!Uri.TryCreate(s.Url, UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https")))
                yield return $"{at}:Url must be an absolute http(s) address";
            if (!McpApproval.TryParse(s.Approval, out _)) yield return $"{at}:Approval must be always, never or auto";
            foreach (var (tool, a) in s.ToolApproval)
                if (!McpApproval.TryParse(a, out _)) yield return $"{at}:ToolApproval:{tool} must be always, never or auto";
            if (s.TimeoutSeconds is < 1 or > 3600) yield return $"{at}:TimeoutSeconds must be between 1 and 3600";
            if (stdio && s.HeadersFrom.Count > 0) yield return $"{at}: HeadersFrom is for Url servers (a stdio server takes EnvironmentFrom)";
            if (http && (s.EnvironmentFrom.Count > 0 || s.Environment.Count > 0)) yield return $"{at}: Environment is for Command servers (an HTTP server takes HeadersFrom)";
        }
    }
}

/// <summary>One MCP server. Secrets never live here: <see cref="EnvironmentFrom"/> and <see cref="HeadersFrom"/> name the worker's environment variables that hold them.</summary>
public sealed class McpServerOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>A stdio server: the program the worker starts (and restarts after it dies), e.g. <c>node</c> or <c>npx</c>.</summary>
    public string? Command { get; set; }

    public List<string> Arguments { get; set; } = [];

    public string? WorkingDirectory { get; set; }

    /// <summary>Plain (not secret) environment variables of a stdio server.</summary>
    public Dictionary<string, string> Environment { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Secret environment variables of a stdio server: its variable name → the name of the worker's variable holding the value.</summary>
    public Dictionary<string, string> EnvironmentFrom { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A Streamable HTTP server: its endpoint, e.g. <c>http://tickets-mcp:3001/mcp</c>.</summary>
    public string? Url { get; set; }

    /// <summary>Headers of every request to an HTTP server: header name → the name of the worker's variable holding the value (a token, say).</summary>
    public Dictionary<string, string> HeadersFrom { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Default approval of the server's tools: <c>always</c>, <c>never</c>, or <c>auto</c> (approval unless the tool says it is read-only).</summary>
    public string Approval { get; set; } = "auto";

    /// <summary>Approval per tool (the server's own tool name), overriding <see cref="Approval"/>.</summary>
    public Dictionary<string, string> ToolApproval { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Only these of the server's tools are offered (its own names); empty offers all.</summary>
    public List<string> AllowedTools { get; set; } = [];

    /// <summary>Time limit of one call; <c>Worker:ToolTimeoutSeconds</c> when not set.</summary>
    [Range(1, 3600)]
    public int? TimeoutSeconds { get; set; }

    /// <summary>
    /// The request header that carries the calling user's id to an HTTP server (so it can apply its own authorization);
    /// empty sends none; stdio servers have no headers. Every call also carries it in <c>_meta</c> as <c>agents.micro/user_id</c>.
    /// </summary>
    public string? UserIdHeader { get; set; } = "X-Agents-User-Id";

    /// <summary>
    /// An argument the calling user's id is put into (overwriting whatever the model wrote); the model is not shown it.
    /// For servers that read the user only from their arguments.
    /// </summary>
    public string? UserIdArgument { get; set; }
}

public enum McpApprovalMode { Auto, Always, Never }

public static class McpApproval
{
    public static bool TryParse(string? value, out McpApprovalMode mode)
    {
        mode = McpApprovalMode.Auto;
        switch ((value ?? "auto").Trim().ToLowerInvariant())
        {
            case "auto": return true;
            case "always": mode = McpApprovalMode.Always; return true;
            case "never": mode = McpApprovalMode.Never; return true;
            default: return false;
        }
    }
}
