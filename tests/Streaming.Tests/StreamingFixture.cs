using System.Diagnostics;
using System.Net.Http.Headers;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Streaming.Tests;

/// <summary>
/// Gateway, TaskApi and an AgentWorker as OS processes on real RabbitMQ and PostgreSQL (own database, own virtual host).
/// The safety re-check is slowed to a minute, so events that arrive promptly prove the bus notification path.
/// </summary>
public sealed class StreamingFixture : IAsyncLifetime
{
    public const string InternalKey = "streaming-test-internal-key-0123456789abcdef";
    public const int ChunkDelayMs = 40;
    private PgTestDatabase? _db;
    private RabbitVhost? _vhost;
    public ServiceProcess Gateway { get; private set; } = null!;
    public ServiceProcess TaskApi { get; private set; } = null!;
    public ServiceProcess Worker { get; private set; } = null!;
    public string ConnectionString => _db!.ConnectionString;

    private Dictionary<string, string> CommonEnv() => new()
    {
        ["Database__Provider"] = "postgres",
        ["Database__ConnectionString"] = _db!.ConnectionString,
        ["Messaging__Transport"] = "rabbitmq",
        ["Messaging__RabbitMq__Host"] = TestEnv.RabbitHost,
        ["Messaging__RabbitMq__VirtualHost"] = _vhost!.Name,
        ["Auth__InternalKey"] = InternalKey,
        ["LocalModel__ChunkDelayMs"] = ChunkDelayMs.ToString(),
        ["Worker__RecallTimeoutMs"] = "300",
        ["Streaming__RecheckSeconds"] = "60",
        ["Streaming__KeepAliveSeconds"] = "1",
    };

    public async ValueTask InitializeAsync()
    {
        _db = await TestEnv.CreatePgDatabaseAsync();
        _vhost = await RabbitVhost.CreateAsync("agents-stream");
        TaskApi = await ServiceProcess.StartAsync("TaskApi", "Agents.Micro.TaskApi", CommonEnv());
        Worker = await ServiceProcess.StartAsync("AgentWorker", "Agents.Micro.AgentWorker", CommonEnv());
        var gw = CommonEnv();
        gw["ReverseProxy__Clusters__taskapi__Destinations__d1__Address"] = TaskApi.BaseUrl;
        Gateway = await ServiceProcess.StartAsync("Gateway", "Agents.Micro.Gateway", gw);
        await TaskApi.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));
        await Worker.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));
    }

    /// <summary>A token created in the token store, as an operator would issue it.</summary>
    public async Task<string> TokenAsync(string user)
    {
        var store = new TokenStore(new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = ConnectionString }));
        return await store.CreateAsync(user, "streaming-test", false);
    }

    /// <summary>A client of the gateway authenticated as <paramref name="user"/>.</summary>
    public async Task<HttpClient> ClientAsync(string user)
    {
        var c = new HttpClient { BaseAddress = new Uri(Gateway.BaseUrl), Timeout = TimeSpan.FromSeconds(120) };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(user));
        return c;
    }


    public async ValueTask DisposeAsync()
    {
        foreach (var p in new[] { Gateway, Worker, TaskApi }.Where(p => p is not null)) await p.DisposeAsync();
        if (_vhost is not null) await _vhost.DisposeAsync();
        if (_db is not null) await _db.DisposeAsync();
    }
}
