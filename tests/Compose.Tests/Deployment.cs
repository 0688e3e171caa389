using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Agents.Micro.Compose.Tests;

/// <summary>
/// The docker-compose deployment that scripts/compose-test.sh brought up: where its gateway and dashboard are, the
/// admin token it was given, and the docker / docker-compose commands the tests use to kill, scale and restart it.
/// Every setting is required: run these tests through scripts/compose-test.sh, never on their own.
/// </summary>
public static class Deployment
{
    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v
            ? v
            : throw new InvalidOperationException($"{name} is not set: these tests run against the deployment scripts/compose-test.sh starts");

    public static string Project => Required("AGENTS_COMPOSE_PROJECT");
    public static Uri Gateway => new(Required("AGENTS_COMPOSE_GATEWAY"));
    public static string Dashboard => Required("AGENTS_COMPOSE_DASHBOARD").TrimEnd('/');
    public static string AdminToken => Required("AGENTS_COMPOSE_ADMIN_TOKEN");
    public static string DashboardToken => Required("AGENTS_COMPOSE_DASHBOARD_TOKEN");
    public static string Artifacts => Required("AGENTS_COMPOSE_ARTIFACTS");

    /// <summary>The services that run the system (not the servers under them).</summary>
    public static readonly string[] AppServices = ["gateway", "task-api", "agent-worker", "file-service", "memory-service"];

    public static HttpClient Client(string? token = null)
    {
        var http = new HttpClient { BaseAddress = Gateway, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token ?? AdminToken);
        return http;
    }

    /// <summary>Polls each task to its end, one after another (a poll loop per task at once would meet the rate limit).</summary>
    public static async Task<List<Agents.Micro.TestSupport.PolledTask>> PollAllAsync(HttpClient http, IEnumerable<string> ids, TimeSpan timeout)
    {
        var results = new List<Agents.Micro.TestSupport.PolledTask>();
        foreach (var id in ids) results.Add(await Agents.Micro.TestSupport.TaskPolling.PollAsync(http, id, timeout: timeout));
        return results;
    }

    /// <summary>Appends a line to the figures scripts/compose-test.sh prints at the end.</summary>
    public static void Figure(string line)
    {
        File.AppendAllText(Required("AGENTS_COMPOSE_FIGURES"), line + Environment.NewLine);
        Console.WriteLine(line);
    }

    // ---------------------------------------------------------------- commands

    public sealed record Result(int ExitCode, string Out, string Err)
    {
        public Result Ok(string what) => ExitCode == 0 ? this : throw new InvalidOperationException($"{what} failed ({ExitCode}): {Err}{Out}");
    }

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoRoot };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish in time");
        }
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    public static Task<Result> DockerAsync(params string[] args) => RunAsync("docker", args);

    /// <summary><c>docker compose</c> (or docker-compose 1.x) on the same project, files and settings as the script.</summary>
    public static Task<Result> ComposeAsync(params string[] args)
    {
        var common = new List<string> { "-p", Project };
        foreach (var f in Required("AGENTS_COMPOSE_FILES").Split(':')) { common.Add("-f"); common.Add(f); }
        common.Add("--env-file"); common.Add(Required("AGENTS_COMPOSE_ENV_FILE"));
        return UseV2.Value
            ? RunAsync("docker", ["compose", .. common, .. args])
            : RunAsync("docker-compose", [.. common, .. args]);
    }

    private static readonly Lazy<bool> UseV2 = new(() =>
    {
        try { return RunAsync("docker", ["compose", "version"]).GetAwaiter().GetResult().ExitCode == 0; }
        catch { return false; }
    });

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "docker-compose.yml"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    // ---------------------------------------------------------------- containers

    public sealed record Container(string Id, string Name, string Service, string State, string Health, int RestartCount, int ExitCode, string User)
    {
        /// <summary>The container's host name: what a worker's lease owner starts with.</summary>
        public string HostName => Id[..12];
        /// <summary>Healthy by its health check; without one, running; the one-shot minio-init, exited 0.</summary>
        public bool Healthy => Health == "healthy"
            || (Health == "none" && (State == "running" || (Service == "minio-init" && State == "exited" && ExitCode == 0)));
    }

    public static async Task<List<Container>> ContainersAsync()
    {
        var ids = (await DockerAsync("ps", "-aq", "--no-trunc", "--filter", $"label=com.docker.compose.project={Project}")).Ok("docker ps")
            .Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (ids.Length == 0) return [];
        var json = (await DockerAsync(["inspect", .. ids])).Ok("docker inspect").Out;
        return JsonDocument.Parse(json).RootElement.EnumerateArray().Select(c =>
        {
            var state = c.GetProperty("State");
            return new Container(
                c.GetProperty("Id").GetString()!,
                c.GetProperty("Name").GetString()!.TrimStart('/'),
                c.GetProperty("Config").GetProperty("Labels").GetProperty("com.docker.compose.service").GetString()!,
                state.GetProperty("Status").GetString()!,
                state.TryGetProperty("Health", out var h) ? h.GetProperty("Status").GetString()! : "none",
                c.GetProperty("RestartCount").GetInt32(),
                state.GetProperty("ExitCode").GetInt32(),
                c.GetProperty("Config").GetProperty("User").GetString() ?? "");
        }).ToList();
    }

    /// <summary>Waits until every container of the project is healthy (see <see cref="Container.Healthy"/>); an exited one is not.</summary>
    public static async Task<List<Container>> WaitHealthyAsync(TimeSpan? timeout = null, int? workers = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(3));
        List<Container> last = [];
        while (DateTime.UtcNow < deadline)
        {
            last = await ContainersAsync();
            if (last.Count > 0 && last.All(c => c.Healthy)
                && (workers is null || last.Count(c => c.Service == "agent-worker") == workers)) return last;
            await Task.Delay(1000);
        }
        throw new TimeoutException("not healthy in time: " + string.Join(", ", last.Select(c => $"{c.Name}={c.State}/{c.Health}")));
    }

    /// <summary>A query on the deployment's own PostgreSQL, through psql in its container (rows, columns split on '|').</summary>
    public static async Task<List<string[]>> SqlAsync(string sql)
    {
        var pg = (await ContainersAsync()).First(c => c.Service == "postgres");
        var r = (await DockerAsync("exec", pg.Id, "psql", "-U", "agents", "-d", "agents", "-AtF", "|", "-c", sql)).Ok("psql");
        return r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')).ToList();
    }
}
