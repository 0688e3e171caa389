using System.Diagnostics;
using System.Net.Http.Headers;

namespace Agents.Micro.TestSupport;

/// <summary>
/// Services of the production topology started as OS processes from their build output, on real PostgreSQL and
/// RabbitMQ: their own database and virtual host, so fixtures running in parallel never share tables or queues. The
/// one place the multi-process fixtures (distributed, edge, streaming, tracing) build their deployment.
/// </summary>
public sealed class ProcessDeployment : IAsyncDisposable
{
    private readonly PgTestDatabase _db;
    private readonly RabbitVhost _vhost;
    private readonly Dictionary<string, string> _common;
    private readonly List<ServiceProcess> _processes = [];

    private ProcessDeployment(PgTestDatabase db, RabbitVhost vhost, Dictionary<string, string> common)
    {
        _db = db;
        _vhost = vhost;
        _common = common;
    }

    public string ConnectionString => _db.ConnectionString;

    /// <summary>
    /// A database and a virtual host named after <paramref name="name"/>; every service started here gets them, the
    /// internal key, a fast local model, and <paramref name="settings"/> (configuration keys, <c>Section:Key</c> form).
    /// </summary>
    public static async Task<ProcessDeployment> CreateAsync(string name, string internalKey, IEnumerable<(string Key, string Value)>? settings = null)
    {
        var db = await TestEnv.CreatePgDatabaseAsync();
        var vhost = await RabbitVhost.CreateAsync(name);
        var common = new Dictionary<string, string>
        {
            ["Database__Provider"] = "postgres",
            ["Database__ConnectionString"] = db.ConnectionString,
            ["Messaging__Transport"] = "rabbitmq",
            ["Messaging__RabbitMq__Host"] = TestEnv.RabbitHost,
            ["Messaging__RabbitMq__VirtualHost"] = vhost.Name,
            ["Auth__InternalKey"] = internalKey,
            ["LocalModel__ChunkDelayMs"] = "5",
            ["Worker__RecallTimeoutMs"] = "300",
        };
        foreach (var (k, v) in settings ?? []) common[EnvName(k)] = v;
        return new ProcessDeployment(db, vhost, common);
    }

    /// <summary>The environment every service here gets, plus <paramref name="settings"/>.</summary>
    public Dictionary<string, string> Environment(IEnumerable<(string Key, string Value)>? settings = null)
    {
        var env = new Dictionary<string, string>(_common);
        foreach (var (k, v) in settings ?? []) env[EnvName(k)] = v;
        return env;
    }

    /// <summary>
    /// Starts services/<paramref name="project"/> (TaskApi, AgentWorker, FileService, MemoryService, Gateway) and, with
    /// <paramref name="ready"/>, waits until its <c>/health/ready</c> answers (its database and broker are up).
    /// Start services that create tables one at a time: they migrate the same database at start-up.
    /// </summary>
    public async Task<ServiceProcess> StartAsync(string project, IEnumerable<(string Key, string Value)>? settings = null, bool ready = false)
    {
        var p = await ServiceProcess.StartAsync(project, "Agents.Micro." + project, Environment(settings));
        _processes.Add(p);
        if (ready) await p.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));
        return p;
    }

    /// <summary>The gateway in front of the given services (by their route cluster names: taskapi, files, memory).</summary>
    public Task<ServiceProcess> StartGatewayAsync(ServiceProcess taskApi, ServiceProcess? files = null, ServiceProcess? memory = null,
        IEnumerable<(string Key, string Value)>? settings = null)
    {
        var routes = new List<(string, string)> { ("ReverseProxy:Clusters:taskapi:Destinations:d1:Address", taskApi.BaseUrl) };
        if (files is not null) routes.Add(("ReverseProxy:Clusters:files:Destinations:d1:Address", files.BaseUrl));
        if (memory is not null) routes.Add(("ReverseProxy:Clusters:memory:Destinations:d1:Address", memory.BaseUrl));
        return StartAsync("Gateway", [.. routes, .. settings ?? []]);
    }

    /// <summary>
    /// A bearer token issued as an operator issues one: the gateway's <c>tokens create</c> command, run against this
    /// deployment's database (start the gateway first: it creates the token table).
    /// </summary>
    public async Task<string> TokenAsync(string user, bool admin = false)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[ServiceProcess.DllPath("Gateway", "Agents.Micro.Gateway"), "tokens", "create", "--user", user, "--name", "test"])
            psi.ArgumentList.Add(a);
        if (admin) psi.ArgumentList.Add("--admin");
        foreach (var (k, v) in _common) psi.Environment[k] = v;
        using var cli = Process.Start(psi) ?? throw new InvalidOperationException("could not start the token command");
        var stdout = cli.StandardOutput.ReadToEndAsync();
        var stderr = cli.StandardError.ReadToEndAsync();
        await cli.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (cli.ExitCode != 0) throw new InvalidOperationException($"tokens create exited {cli.ExitCode}: {await stderr}");
        return (await stdout).Trim();
    }

    /// <summary>A client of <paramref name="gateway"/> authenticated as <paramref name="user"/> with a fresh token.</summary>
    public async Task<HttpClient> ClientAsync(ServiceProcess gateway, string user, bool admin = false, TimeSpan? timeout = null)
    {
        var c = new HttpClient { BaseAddress = new Uri(gateway.BaseUrl), Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(user, admin));
        return c;
    }

    private static string EnvName(string key) => key.Replace(":", "__", StringComparison.Ordinal);

    /// <summary>Stops the processes (the last started first), then drops the virtual host and the database.</summary>
    public async ValueTask DisposeAsync()
    {
        for (var i = _processes.Count - 1; i >= 0; i--) await _processes[i].DisposeAsync();
        await _vhost.DisposeAsync();
        await _db.DisposeAsync();
    }
}
