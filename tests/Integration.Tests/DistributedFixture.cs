using System.Diagnostics;
using System.Net.Http.Headers;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>
/// The production topology as separate OS processes: Gateway, TaskApi and two AgentWorkers on real RabbitMQ and
/// PostgreSQL. Each fixture gets its own PostgreSQL database and RabbitMQ virtual host, so parallel runs never share queues.
/// </summary>
public class DistributedFixture : IAsyncLifetime
{
    public const string InternalKey = "integration-test-internal-key-0123456789abcdef";
    private PgTestDatabase? _db;
    private RabbitVhost? _vhost;
    public List<ServiceProcess> Workers { get; } = [];
    public ServiceProcess Gateway { get; private set; } = null!;
    public ServiceProcess TaskApi { get; private set; } = null!;
    public string ConnectionString => _db!.ConnectionString;

    public Dictionary<string, string> CommonEnv() => new()
    {
        ["Database__Provider"] = "postgres",
        ["Database__ConnectionString"] = _db!.ConnectionString,
        ["Messaging__Transport"] = "rabbitmq",
        ["Messaging__RabbitMq__Host"] = TestEnv.RabbitHost,
        ["Messaging__RabbitMq__VirtualHost"] = _vhost!.Name,
        ["Auth__InternalKey"] = InternalKey,
        ["LocalModel__ChunkDelayMs"] = "5",
        ["Worker__RecallTimeoutMs"] = "300",
    };

    /// <summary>AgentWorker processes started with the fixture.</summary>
    protected virtual int WorkerCount => 2;

    public async ValueTask InitializeAsync()
    {
        _db = await TestEnv.CreatePgDatabaseAsync();
        _vhost = await RabbitVhost.CreateAsync("agents-it");
        TaskApi = await ServiceProcess.StartAsync("TaskApi", "Agents.Micro.TaskApi", CommonEnv());
        for (var i = 0; i < WorkerCount; i++) Workers.Add(await StartWorkerAsync());
        var gw = CommonEnv();
        gw["ReverseProxy__Clusters__taskapi__Destinations__d1__Address"] = TaskApi.BaseUrl;
        Gateway = await ServiceProcess.StartAsync("Gateway", "Agents.Micro.Gateway", gw);
        await TaskApi.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));
    }

    /// <summary>Settings every worker of the fixture gets (configuration keys, e.g. <c>Mcp:Servers:fs:Command</c>).</summary>
    protected virtual IEnumerable<(string Key, string Value)> WorkerSettings => [];

    public async Task<ServiceProcess> StartWorkerAsync(IDictionary<string, string>? extra = null)
    {
        var env = CommonEnv();
        foreach (var (k, v) in WorkerSettings) env[k.Replace(":", "__", StringComparison.Ordinal)] = v;
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) env[k] = v;
        var w = await ServiceProcess.StartAsync("AgentWorker", "Agents.Micro.AgentWorker", env);
        await w.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));
        return w;
    }

    /// <summary>A client of the gateway with a token created in the token store, as an operator would issue it.</summary>
    public async Task<HttpClient> GatewayClientAsync(string user)
    {
        var store = new TokenStore(new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = ConnectionString }));
        var token = await store.CreateAsync(user, "it", false);
        var c = new HttpClient { BaseAddress = new Uri(Gateway.BaseUrl) };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }


    public virtual async ValueTask DisposeAsync()
    {
        foreach (var p in Workers.Append(Gateway).Append(TaskApi).Where(p => p is not null)) await p.DisposeAsync();
        if (_vhost is not null) await _vhost.DisposeAsync();
        if (_db is not null) await _db.DisposeAsync();
    }
}
