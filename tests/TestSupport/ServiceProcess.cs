using System.Diagnostics;
using System.Text;

namespace Agents.Micro.TestSupport;

/// <summary>A service started as its own OS process from its build output, as production runs it.</summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(string name, Process process, string baseUrl)
    {
        Name = name;
        _process = process;
        BaseUrl = baseUrl;
    }

    public string Name { get; }
    public string BaseUrl { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>CPU time the process used so far (user + system, from /proc), for benchmarks; 0 once it exited.</summary>
    public double CpuSeconds()
    {
        try
        {
            // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name), in clock ticks (100 per second on Linux).
            var stat = File.ReadAllText($"/proc/{Pid}/stat");
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(f[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(f[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return 0;
        }
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>services/{project}'s built dll, which must exist.</summary>
    public static string DllPath(string project, string assembly)
    {
        var dll = Path.Combine(TestEnv.RepoRoot, "services", project, "bin", TestEnv.Configuration, "net10.0", assembly + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} not built — build the solution first", dll);
    }

    /// <summary>
    /// Starts services/{project}'s built dll with <paramref name="env"/> and waits for <c>/health/live</c>. By default it
    /// runs in its own folder and is told where to listen with <c>Urls</c>; <paramref name="workingDirectory"/> and
    /// <paramref name="portVariable"/> (e.g. <c>ASPNETCORE_HTTP_PORTS</c>) start it as ops tooling would instead;
    /// <paramref name="launcher"/> runs it under another program (a tracer).
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(string project, string assembly, IDictionary<string, string> env, TimeSpan? timeout = null,
        string? workingDirectory = null, string? portVariable = null, IReadOnlyList<string>? launcher = null)
    {
        var dll = DllPath(project, assembly);
        // A port found free can be taken by someone else (an outgoing connection's ephemeral port, say) before the
        // service binds it: such a start is retried on another port, up to three times.
        for (var attempt = 1; ; attempt++)
        {
            var port = TestEnv.FreePort();
            var url = $"http://127.0.0.1:{port}";
            // A launcher (e.g. strace and its options) runs `dotnet <dll>` under it.
            var command = (launcher ?? []).Concat(["dotnet", dll]).ToList();
            var psi = new ProcessStartInfo(command[0], command.Skip(1))
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(dll)!,
            };
            if (portVariable is null) psi.Environment["Urls"] = url;
            else psi.Environment[portVariable] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            psi.Environment["Logging__Format"] = "simple";
            psi.Environment["DOTNET_gcServer"] = "0";
            foreach (var (k, v) in env) psi.Environment[k] = v;
            var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + project);
            var sp = new ServiceProcess(project, p, url);
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (sp._output) sp._output.AppendLine(e.Data); };
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (sp._output) sp._output.AppendLine(e.Data); };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            try
            {
                await sp.WaitHealthyAsync("/health/live", timeout ?? TimeSpan.FromSeconds(60));
                return sp;
            }
            catch (InvalidOperationException) when (attempt < 3 && sp.HasExited && sp.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await sp.DisposeAsync();
            }
        }
    }

    public async Task WaitHealthyAsync(string path, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (_process.HasExited) throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{Output}");
            try
            {
                if ((await http.GetAsync(BaseUrl + path)).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{Name} not healthy at {BaseUrl}{path} within {timeout}:\n{Output}");
    }

    /// <summary>SIGKILL: the process dies without any chance to clean up.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>Sends a POSIX signal (SIGTERM 15, SIGSTOP 19, SIGCONT 18).</summary>
    public void Signal(int signal)
    {
        using var k = Process.Start("kill", $"-{signal} {_process.Id}");
        k?.WaitForExit();
    }

    public Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return _process.WaitForExitAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                Signal(18); // a stopped process must be continued before it can die gracefully
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
