using System.Diagnostics;
using System.Net.Sockets;

namespace Agents.Micro.TestSupport;

/// <summary>
/// The real MCP servers the tool tests use, from npm (tests/mcp-servers, installed by scripts/test-infra.sh up):
/// <c>@modelcontextprotocol/server-everything</c> and <c>@modelcontextprotocol/server-filesystem</c>, run with node.
/// Missing servers fail the test with what to run; they never skip it.
/// </summary>
public static class McpTestServers
{
    public static string Root => Environment.GetEnvironmentVariable("AGENTS_TEST_MCP_SERVERS")
        ?? Path.Combine(TestEnv.RepoRoot, "tests", "mcp-servers", "node_modules", "@modelcontextprotocol");

    public static string Everything => Script("server-everything");
    public static string Filesystem => Script("server-filesystem");

    private static string Script(string package)
    {
        var path = Path.Combine(Root, package, "dist", "index.js");
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing: run scripts/test-infra.sh up (it runs npm ci in tests/mcp-servers)");
        return path;
    }

    /// <summary>Settings of a stdio server under <c>Mcp:Servers:{name}</c>, as key/value pairs (both for a test host and for environment variables).</summary>
    public static IEnumerable<(string Key, string Value)> Stdio(string name, string script, params string[] args)
    {
        yield return ($"Mcp:Servers:{name}:Command", "node");
        yield return ($"Mcp:Servers:{name}:Arguments:0", script);
        for (var i = 0; i < args.Length; i++) yield return ($"Mcp:Servers:{name}:Arguments:{i + 1}", args[i]);
    }
}

/// <summary>server-everything over Streamable HTTP as its own process on a free port (as it would run in its own container).</summary>
public sealed class McpHttpServer : IAsyncDisposable
{
    private Process? _process;

    public int Port { get; } = TestEnv.FreePort();
    public string Url => $"http://127.0.0.1:{Port}/mcp";

    public static async Task<McpHttpServer> StartAsync()
    {
        var s = new McpHttpServer();
        await s.RestartAsync();
        return s;
    }

    /// <summary>Starts it (again, on the same port) and waits until it accepts connections.</summary>
    public async Task RestartAsync()
    {
        var psi = new ProcessStartInfo("node", [McpTestServers.Everything, "streamableHttp"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.Environment["PORT"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the MCP HTTP server exited with {_process.ExitCode}");
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>kill -9: the server dies mid-whatever, as a crashed container does.</summary>
    public async Task KillAsync()
    {
        if (_process is null || _process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }
}
