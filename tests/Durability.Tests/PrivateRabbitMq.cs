using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Agents.Micro.Durability.Tests;

/// <summary>
/// A RabbitMQ node of our own (own node name, ports, data and log directories, no plugins), started with
/// <c>rabbitmq-server</c> as a child process, so that these tests can stop and start the broker without touching the
/// shared one. Its data directory survives a stop, so durable queues and their messages come back with it.
/// </summary>
public sealed class PrivateRabbitMq : IAsyncDisposable
{
    private const string DefaultServer = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private readonly string _root;
    private readonly string _nodeName;
    private readonly int _distPort;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private PrivateRabbitMq(string root, string nodeName, int port, int distPort)
    {
        _root = root;
        _nodeName = nodeName;
        Port = port;
        _distPort = distPort;
    }

    public int Port { get; }
    public bool IsRunning => _process is { HasExited: false };

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public static async Task<PrivateRabbitMq> StartAsync()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var root = Path.Combine(Path.GetTempPath(), "agents-durable-rmq-" + id);
        Directory.CreateDirectory(Path.Combine(root, "home"));
        await File.WriteAllTextAsync(Path.Combine(root, "enabled_plugins"), "[].");
        await File.WriteAllTextAsync(Path.Combine(root, "rabbitmq.conf"), "loopback_users = none\n");
        var port = Agents.Micro.TestSupport.TestEnv.FreePort();
        var dist = Agents.Micro.TestSupport.TestEnv.FreePort();
        while (dist == port) dist = Agents.Micro.TestSupport.TestEnv.FreePort();
        var r = new PrivateRabbitMq(root, $"agents-durable-{id}@localhost", port, dist);
        try
        {
            await r.StartServerAsync();
        }
        catch (Exception ex)
        {
            await r.DisposeAsync();
            throw new InvalidOperationException($"could not start a private RabbitMQ node: {ex.Message}", ex);
        }
        return r;
    }

    public async Task StartServerAsync(TimeSpan? timeout = null)
    {
        var server = Environment.GetEnvironmentVariable("AGENTS_TEST_RABBITMQ_SERVER") ?? DefaultServer;
        if (!File.Exists(server)) throw new InvalidOperationException($"{server} not found (set AGENTS_TEST_RABBITMQ_SERVER)");
        var psi = new ProcessStartInfo(server)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _root,
        };
        // Everything the node reads or writes is ours; the Erlang cookie lives in our own HOME.
        psi.Environment["HOME"] = Path.Combine(_root, "home");
        psi.Environment["RABBITMQ_NODENAME"] = _nodeName;
        psi.Environment["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        psi.Environment["RABBITMQ_NODE_PORT"] = Port.ToString();
        psi.Environment["RABBITMQ_DIST_PORT"] = _distPort.ToString();
        psi.Environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(_root, "mnesia");
        psi.Environment["RABBITMQ_LOG_BASE"] = Path.Combine(_root, "log");
        psi.Environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(_root, "enabled_plugins");
        psi.Environment["RABBITMQ_PLUGINS_EXPAND_DIR"] = Path.Combine(_root, "plugins-expand");
        psi.Environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(_root, "rabbitmq.conf");
        psi.Environment["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(_root, "advanced.config");
        psi.Environment["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(_root, "rabbitmq-env.conf");
        psi.Environment["RABBITMQ_PID_FILE"] = Path.Combine(_root, "pid");
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + server);
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;

        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
        while (DateTime.UtcNow < until)
        {
            if (p.HasExited) throw new InvalidOperationException($"rabbitmq-server exited with {p.ExitCode}:\n{Output}");
            if (await AcceptsAsync()) return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"private RabbitMQ node {_nodeName} did not open port {Port} in time:\n{Output}");
    }

    private async Task<bool> AcceptsAsync()
    {
        try
        {
            using var c = new TcpClient();
            await c.ConnectAsync("127.0.0.1", Port).WaitAsync(TimeSpan.FromSeconds(1));
            return true;
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>A clean stop (SIGTERM): the node closes every connection and exits; its data stays.</summary>
    public async Task StopServerAsync()
    {
        if (_process is not { HasExited: false } p) return;
        OsProcess.Signal(p.Id, 15);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
        }
        // The port closes with the node; wait for it so that "stopped" really means unreachable.
        for (var i = 0; i < 50 && await AcceptsAsync(); i++) await Task.Delay(100);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_process is { HasExited: false } p)
            {
                OsProcess.Signal(p.Id, 15);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                try { await p.WaitForExitAsync(cts.Token); }
                catch (OperationCanceledException) { p.Kill(entireProcessTree: true); }
            }
        }
        catch (InvalidOperationException) { }
        _process?.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
