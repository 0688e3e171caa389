using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol;

namespace Agents.Micro.AgentWorker.Tools.Mcp;

/// <summary>One of a server's tools as the model sees it.</summary>
public sealed record McpToolEntry(string ExposedName, string Server, string ToolName, ToolSpec Spec, bool NeedsApproval, bool ReadOnly);

/// <summary>Who is calling, for the HTTP handler that adds the user header to that call's requests only.</summary>
internal static class McpCallScope
{
    public static readonly AsyncLocal<string?> UserId = new();
}

/// <summary>
/// One MCP server: keeps a session open (connects at start-up, reconnects with backoff after the server or the
/// connection dies), keeps its tool list (refreshed when the server announces a change), and makes calls. A server
/// that is down never stops the worker: its calls fail with a reason the model is given.
/// </summary>
internal sealed class McpServerConnection(string name, McpServerOptions options, ILoggerFactory loggers) : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    /// <summary>A session that lasted this long was healthy: the next failure starts the backoff from 1 s again.</summary>
    private static readonly TimeSpan HealthySession = TimeSpan.FromSeconds(30);

    /// <summary>The worker's variables a stdio server gets: enough for <c>npx</c>, <c>node</c> or <c>python</c> to start.</summary>
    public static readonly string[] InheritedVariables = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "NODE_PATH", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"];

    private readonly ILogger _log = loggers.CreateLogger("Agents.Micro.AgentWorker.Mcp");
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Session? _session;
    private Task? _loop;
    private int _disposed;

    /// <summary>One connection: the client, and the switch a failed call uses to end exactly this one (not a newer one).</summary>
    private sealed class Session
    {
        public McpClient? Client;
        public readonly CancellationTokenSource Broken = new();
        public string? BrokenReason;

        public void MarkBroken(string reason)
        {
            BrokenReason ??= reason;
            try { Broken.Cancel(); } catch (ObjectDisposedException) { /* the supervisor already moved on */ }
        }
    }

    public string Name => name;
    public McpServerOptions Options => options;
    public IReadOnlyList<McpToolEntry> Tools { get; private set; } = [];

    /// <summary>Why the server cannot be used now (null while connected). Shown to users and the model: no server output in it.</summary>
    public string? DownReason { get; private set; } = "not connected yet";

    /// <summary>Completes after the first connection attempt (successful or not).</summary>
    public Task FirstAttempt => _firstAttempt.Task;

    public void Start() => _loop ??= Task.Run(() => SuperviseAsync(_stop.Token));

    private async Task SuperviseAsync(CancellationToken stop)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (!stop.IsCancellationRequested)
        {
            var session = new Session();
            IAsyncDisposable? transport = null;
            var connectedAt = DateTime.MaxValue;
            try
            {
                (session.Client, transport) = await ConnectAsync(session, stop);
                await RefreshToolsAsync(session.Client, stop);
                _session = session;
                DownReason = null;
                connectedAt = DateTime.UtcNow;
                _firstAttempt.TrySetResult();
                _log.LogInformation("MCP server {Server} connected: {Count} tools", name, Tools.Count);
                // Until the session ends (the process exited, the stream broke) or a call saw the connection fail.
                var ended = session.Client.Completion;
                using (var wake = CancellationTokenSource.CreateLinkedTokenSource(stop, session.Broken.Token))
                    await Task.WhenAny(ended, Task.Delay(Timeout.Infinite, wake.Token));
                if (stop.IsCancellationRequested) break;
                DownReason = ended.IsCompleted ? Describe(ended.Result) : session.BrokenReason ?? "the connection failed";
                _log.LogWarning("MCP server {Server} disconnected: {Reason}{Detail}", name, DownReason, Detail(ended));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                DownReason = Reason(ex);
                _log.LogWarning("MCP server {Server} unavailable (retrying in {Delay} s): {Reason}", name, backoff.TotalSeconds, DownReason);
            }
            finally
            {
                if (ReferenceEquals(_session, session)) _session = null;
                _firstAttempt.TrySetResult();
                if (session.Client is { } c) await DisposeQuietlyAsync(c);
                if (transport is not null) await DisposeQuietlyAsync(transport);
                session.Broken.Dispose();
            }
            if (DateTime.UtcNow - connectedAt > HealthySession) backoff = TimeSpan.FromSeconds(1);
            try { await Task.Delay(backoff, stop); } catch (OperationCanceledException) { break; }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    private async Task<(McpClient, IAsyncDisposable?)> ConnectAsync(Session session, CancellationToken ct)
    {
        IClientTransport transport;
        if (!string.IsNullOrWhiteSpace(options.Command))
        {
            // Not the worker's environment (its database, broker and internal-key secrets are not the server's business):
            // only what a program needs to start, then the server's own settings.
            var env = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var k in InheritedVariables)
                if (System.Environment.GetEnvironmentVariable(k) is { } v) env[k] = v;
            foreach (var (k, v) in options.Environment) env[k] = v;
            foreach (var (k, from) in options.EnvironmentFrom)
                env[k] = System.Environment.GetEnvironmentVariable(from) ?? throw new InvalidOperationException($"environment variable {from} (for {k}) is not set in the worker");
            transport = new StdioClientTransport(new StdioClientTransportOptions
            {
                Name = name,
                Command = options.Command!,
                Arguments = options.Arguments,
                WorkingDirectory = options.WorkingDirectory,
                EnvironmentVariables = env,
                InheritEnvironmentVariables = false,
            }, loggers);
        }
        else
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (h, from) in options.HeadersFrom)
                headers[h] = System.Environment.GetEnvironmentVariable(from) ?? throw new InvalidOperationException($"environment variable {from} (for header {h}) is not set in the worker");
            var http = new HttpClient(new UserHeaderHandler(options.UserIdHeader) { InnerHandler = new SocketsHttpHandler() }) { Timeout = Timeout.InfiniteTimeSpan };
            transport = new HttpClientTransport(new HttpClientTransportOptions
            {
                Name = name,
                Endpoint = new Uri(options.Url!),
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = headers,
                ConnectionTimeout = TimeSpan.FromSeconds(10),
            }, http, loggers, ownsHttpClient: true);
        }
        var clientOptions = new McpClientOptions
        {
            ClientInfo = new Implementation { Name = "agents-micro-worker", Version = "1.0" },
            InitializationTimeout = TimeSpan.FromSeconds(20),
            Handlers = new McpClientHandlers
            {
                NotificationHandlers =
                [
                    // Not awaited here: the list is asked for on the same session whose messages this handler is reading.
                    new(NotificationMethods.ToolListChangedNotification, (_, _) =>
                    {
                        if (session.Client is { } c) _ = Task.Run(() => RefreshQuietlyAsync(c));
                        return ValueTask.CompletedTask;
                    }),
                ],
            },
        };
        var disposable = transport as IAsyncDisposable;
        try
        {
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(ct);
            connect.CancelAfter(TimeSpan.FromSeconds(30));
            return (await McpClient.CreateAsync(transport, clientOptions, loggers, connect.Token), disposable);
        }
        catch
        {
            if (disposable is not null) await DisposeQuietlyAsync(disposable);
            throw;
        }
    }

    private async Task RefreshToolsAsync(McpClient client, CancellationToken ct)
    {
        // One at a time: a later refresh asks later, so an older list never replaces a newer one.
        await _refresh.WaitAsync(ct);
        try
        {
            var listed = await client.ListToolsAsync(cancellationToken: ct);
            var allowed = options.AllowedTools.Count == 0 ? null : options.AllowedTools.ToHashSet(StringComparer.Ordinal);
            var entries = new List<McpToolEntry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var t in listed.Select(t => t.ProtocolTool))
            {
                if (allowed is not null && !allowed.Contains(t.Name)) continue;
                var exposed = McpNames.Expose(name, t.Name);
                if (!names.Add(exposed))
                {
                    _log.LogWarning("MCP server {Server}: tool {Tool} skipped, its name collides with another as {Exposed}", name, t.Name, exposed);
                    continue;
                }
                var readOnly = t.Annotations?.ReadOnlyHint == true;
                McpApproval.TryParse(options.ToolApproval.GetValueOrDefault(t.Name, options.Approval), out var mode);
                var needsApproval = mode switch { McpApprovalMode.Always => true, McpApprovalMode.Never => false, _ => !readOnly };
                var description = (t.Description ?? t.Title ?? t.Name) + $" (tool of the '{name}' MCP server)";
                entries.Add(new McpToolEntry(exposed, name, t.Name, new ToolSpec(exposed, description, SchemaForModel(t.InputSchema)), needsApproval, readOnly));
            }
            Tools = entries;
        }
        finally
        {
            _refresh.Release();
        }
    }

    private async Task RefreshQuietlyAsync(McpClient client)
    {
        try { await RefreshToolsAsync(client, _stop.Token); }
        catch (Exception ex) { _log.LogWarning("MCP server {Server}: refreshing its tool list failed: {Reason}", name, Reason(ex)); }
    }

    /// <summary>The server's input schema, minus the argument the worker fills with the user id (the model must not set it).</summary>
    private JsonElement SchemaForModel(JsonElement schema)
    {
        if (options.UserIdArgument is not { Length: > 0 } hidden || schema.ValueKind != JsonValueKind.Object) return schema.Clone();
        var node = JsonNode.Parse(schema.GetRawText())!.AsObject();
        (node["properties"] as JsonObject)?.Remove(hidden);
        if (node["required"] is JsonArray required)
            foreach (var r in required.Where(r => r?.GetValue<string>() == hidden).ToList()) required.Remove(r);
        return JsonSerializer.SerializeToElement(node);
    }

    /// <summary>
    /// Calls one tool. A failure of the connection itself (the process died, the stream broke, the session is gone)
    /// ends this session so the supervisor reconnects; any other failure (the server refused, answered 403) is only
    /// this call's. Both are thrown as <see cref="ToolException"/> for the model.
    /// </summary>
    public async Task<CallToolResult> CallAsync(string toolName, JsonElement args, ToolContext context, string callId, CancellationToken ct)
    {
        var session = _session;
        var client = session?.Client ?? throw new ToolException($"the MCP server '{name}' is unavailable: {DownReason ?? "not connected"}");
        var arguments = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (args.ValueKind == JsonValueKind.Object)
            foreach (var p in args.EnumerateObject()) arguments[p.Name] = p.Value.Clone();
        else if (args.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
            throw new ToolException("arguments must be a JSON object");
        if (options.UserIdArgument is { Length: > 0 } arg) arguments[arg] = JsonSerializer.SerializeToElement(context.UserId);
        var request = new CallToolRequestParams
        {
            Name = toolName,
            Arguments = arguments,
            // Who calls, and a key that stays the same if this call is made again after a worker died mid-call.
            Meta = new JsonObject
            {
                ["agents.micro/user_id"] = context.UserId,
                ["agents.micro/task_id"] = context.TaskId,
                ["agents.micro/call_id"] = $"{context.TaskId}/{callId}",
            },
        };
        McpCallScope.UserId.Value = context.UserId;
        try
        {
            return await client.CallToolAsync(request, ct);
        }
        catch (McpProtocolException ex)
        {
            throw new ToolException($"the MCP server '{name}' refused the call: {ex.Message}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && client.Completion.IsCompleted)
        {
            // The SDK cancels the calls of a session that ended under them.
            session!.MarkBroken("the connection closed");
            throw new ToolException($"the MCP server '{name}' failed during the call: the connection closed");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var reason = Reason(ex);
            if (BreaksSession(ex) || client.Completion.IsCompleted)
            {
                session!.MarkBroken(reason);
                throw new ToolException($"the MCP server '{name}' failed during the call: {reason}");
            }
            throw new ToolException($"the MCP server '{name}' could not complete the call: {reason}");
        }
        finally
        {
            McpCallScope.UserId.Value = null;
        }
    }

    /// <summary>Failures of the connection, as opposed to one request's: a broken stream, a closed transport, a lost HTTP session.</summary>
    private static bool BreaksSession(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case ClientTransportClosedException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException:
                    return true;
                // Not the server's answer (that is McpProtocolException): the transport gave up, e.g. a response stream
                // that ended without the reply because the server died.
                case McpException and not McpProtocolException:
                    return true;
                case HttpRequestException h:
                    // No status: the server could not be reached. 404: it no longer knows the session (it restarted).
                    return h.StatusCode is null or System.Net.HttpStatusCode.NotFound;
            }
        }
        return false;
    }

    /// <summary>What is said about an ended session. A stdio server's stderr may hold anything (tokens, paths): only in the log.</summary>
    private static string Describe(ClientCompletionDetails done) => done switch
    {
        StdioClientCompletionDetails s => $"the server process exited (code {s.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"})",
        { Exception: { } ex } => Innermost(ex),
        _ => "the session ended",
    };

    private static string Detail(Task<ClientCompletionDetails> ended) =>
        ended.IsCompleted && ended.Result is StdioClientCompletionDetails { StandardErrorTail: { Count: > 0 } tail } ? "; its last output: " + string.Join(" | ", tail.TakeLast(5)) : "";

    private static string Reason(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
            if (e is ClientTransportClosedException { Details: { } details } && details is not ({ Exception: null } and not StdioClientCompletionDetails))
                return Describe(details);
        return Innermost(ex);
    }

    private static string Innermost(Exception ex)
    {
        var inner = ex;
        while (inner.InnerException is not null && inner is not System.Net.Sockets.SocketException && inner is not HttpRequestException { StatusCode: not null })
            inner = inner.InnerException;
        var text = inner.Message;
        return text.Length > 300 ? text[..300] + "…" : text;
    }

    private static async Task DisposeQuietlyAsync(IAsyncDisposable d)
    {
        try { await d.DisposeAsync(); } catch (Exception) { /* the session is already gone */ }
    }

    /// <summary>Safe to call more than once (the host stops it, then the container disposes it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stop.CancelAsync();
        if (_loop is not null) await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
        _refresh.Dispose();
    }

    /// <summary>Adds the calling user's id to the requests of a call (the flow of <see cref="McpCallScope"/>), not to the session's other traffic.</summary>
    private sealed class UserHeaderHandler(string? header) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (header is { Length: > 0 } && McpCallScope.UserId.Value is { } user) request.Headers.TryAddWithoutValidation(header, HeaderValue(user));
            return base.SendAsync(request, cancellationToken);
        }

        /// <summary>As is when it is printable ASCII (nearly always), else percent-encoded UTF-8, which a header can carry.</summary>
        private static string HeaderValue(string user) => user.All(c => c is >= ' ' and <= '~') ? user : Uri.EscapeDataString(user);
    }
}

/// <summary>How an MCP tool is named for the model: <c>{server}__{tool}</c>, within the 64 characters and the
/// <c>[A-Za-z0-9_-]</c> that chat APIs accept. Server names have no "__" and built-in tools have none, so they cannot collide.</summary>
public static class McpNames
{
    public const string Separator = "__";

    public static string Expose(string server, string tool)
    {
        var safe = new string(tool.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_').ToArray());
        var full = server + Separator + safe;
        if (full.Length <= 64) return full;
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(tool)))[..8];
        return full[..55] + "_" + hash;
    }

    /// <summary>The server part of a name the model used, if it has the MCP shape.</summary>
    public static string? ServerOf(string exposed)
    {
        var at = exposed.IndexOf(Separator, StringComparison.Ordinal);
        return at > 0 ? exposed[..at] : null;
    }
}
