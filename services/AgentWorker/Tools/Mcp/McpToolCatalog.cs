using System.Text;
using ModelContextProtocol.Protocol;

namespace Agents.Micro.AgentWorker.Tools.Mcp;

/// <summary>
/// The worker's MCP servers (<c>Mcp:Servers</c>): started with the host, without waiting for any of them, so a server
/// that is down delays nothing; their tools join the built-in ones in <see cref="ToolRegistry"/>.
/// </summary>
public sealed class McpToolCatalog : IHostedService, IAsyncDisposable
{
    /// <summary>The MCP SDK's own spans (a span per request, with the trace context carried to the server).</summary>
    public const string SdkActivitySource = "Experimental.ModelContextProtocol";

    private readonly Dictionary<string, McpServerConnection> _servers;
    private readonly McpOptions _options;
    private readonly ILogger _log;

    public McpToolCatalog(IOptions<McpOptions> options, ILoggerFactory loggers)
    {
        _options = options.Value;
        _log = loggers.CreateLogger<McpToolCatalog>();
        var errors = options.Value.Errors().ToList();
        if (errors.Count > 0) throw new OptionsValidationException(McpOptions.SectionName, typeof(McpOptions), errors);
        _servers = options.Value.Servers.Where(s => s.Value.Enabled)
            .ToDictionary(s => s.Key, s => new McpServerConnection(s.Key, s.Value, loggers), StringComparer.Ordinal);
    }

    /// <summary>Every tool of every connected server (a server that is down offers none until it is back).</summary>
    public IEnumerable<McpToolEntry> Tools => _servers.Values.Where(s => s.DownReason is null).SelectMany(s => s.Tools);

    /// <summary>Servers that are configured but cannot be used now, and why.</summary>
    public IEnumerable<(string Server, string Reason)> Unavailable =>
        _servers.Values.Where(s => s.DownReason is not null).Select(s => (s.Name, s.DownReason!));

    public McpToolEntry? Find(string exposedName) => Tools.FirstOrDefault(t => t.ExposedName == exposedName);

    /// <summary>Whether <paramref name="exposedName"/> names a configured server's tool (connected or not).</summary>
    public bool IsMcpName(string exposedName) => McpNames.ServerOf(exposedName) is { } s && _servers.ContainsKey(s);

    /// <summary>Waits (bounded) for every server's first connection attempt: tests and a start-up log line use it.</summary>
    public Task FirstAttemptsAsync(TimeSpan max) => Task.WhenAny(Task.WhenAll(_servers.Values.Select(s => s.FirstAttempt)), Task.Delay(max));

    /// <param name="approved">Whether a user approved this call. A call that was not asked about (its server was down when
    /// the loop checked) is refused if the tool turns out to need approval, rather than run unapproved.</param>
    public async Task<ToolResult> CallAsync(string exposedName, ToolContext context, string callId, JsonElement args, bool approved, Activity? activity, CancellationToken ct)
    {
        var serverName = McpNames.ServerOf(exposedName)!;
        var server = _servers[serverName];
        activity?.SetTag("agents.mcp.server", serverName);
        var entry = server.DownReason is null ? server.Tools.FirstOrDefault(t => t.ExposedName == exposedName) : null;
        if (entry is null)
            return ToolResult.Fail(server.DownReason is { } down
                ? $"the MCP server '{serverName}' is unavailable: {down}"
                : $"the MCP server '{serverName}' has no tool '{exposedName[(serverName.Length + McpNames.Separator.Length)..]}'");
        activity?.SetTag("agents.mcp.tool", entry.ToolName);
        if (entry.NeedsApproval && !approved)
            return ToolResult.Fail($"{exposedName} needs the user's approval, and its server was unavailable when the call was checked; call it again to ask");
        var result = await server.CallAsync(entry.ToolName, args, context, callId, ct);
        var text = McpResultText.Render(result);
        return result.IsError == true ? ToolResult.Fail(text) : new ToolResult(true, text);
    }

    /// <summary>Starts every connection; the host takes tasks (the bus starts after this) once each had its first attempt, or after <c>Mcp:StartupWaitSeconds</c>.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_servers.Count == 0) return;
        foreach (var s in _servers.Values) s.Start();
        await FirstAttemptsAsync(TimeSpan.FromSeconds(_options.StartupWaitSeconds)).WaitAsync(cancellationToken);
        foreach (var s in _servers.Values)
            if (s.DownReason is { } reason) _log.LogWarning("MCP server {Server} is unavailable at start-up (its tools are missing until it connects): {Reason}", s.Name, reason);
    }

    public Task StopAsync(CancellationToken cancellationToken) => DisposeAsync().AsTask();

    /// <summary>Stops every connection (and the stdio servers' processes); safe to call again.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var s in _servers.Values) await s.DisposeAsync();
    }

    /// <summary>The server's per-call timeout, when it sets one.</summary>
    public int? TimeoutSeconds(string exposedName) =>
        McpNames.ServerOf(exposedName) is { } s && _servers.TryGetValue(s, out var server) ? server.Options.TimeoutSeconds : null;
}

/// <summary>
/// A tool result as text the model and the event log can hold: text as is, structured content as JSON, and for
/// images, audio and resources a line that names them (type, size, address) instead of their bytes.
/// </summary>
public static class McpResultText
{
    public static string Render(CallToolResult result)
    {
        var sb = new StringBuilder();
        foreach (var block in result.Content)
        {
            if (sb.Length > 0) sb.Append('\n');
            sb.Append(block switch
            {
                TextContentBlock t => t.Text,
                ImageContentBlock i => $"[image {i.MimeType}, {Base64Bytes(i.Data)} bytes, not shown]",
                AudioContentBlock a => $"[audio {a.MimeType}, {Base64Bytes(a.Data)} bytes, not shown]",
                EmbeddedResourceBlock { Resource: TextResourceContents r } => $"[resource {r.Uri}]\n{r.Text}",
                EmbeddedResourceBlock { Resource: BlobResourceContents b } => $"[resource {b.Uri} {b.MimeType}, {Base64Bytes(b.Blob)} bytes, not shown]",
                ResourceLinkBlock l => $"[link {l.Uri}{(l.Name is { Length: > 0 } n ? " " + n : "")}]",
                _ => $"[{block.Type} content, not shown]",
            });
        }
        if (sb.Length == 0 && result.StructuredContent is { } structured) sb.Append(structured.ToString());
        return sb.Length == 0 ? "(no content)" : sb.ToString();
    }

    private static long Base64Bytes<T>(T data) => data switch
    {
        string s => s.Length / 4 * 3,
        ReadOnlyMemory<byte> m => m.Length / 4 * 3,
        byte[] b => b.Length / 4 * 3,
        _ => 0,
    };
}
