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
    private ProcessDeployment _deployment = null!;
    public List<ServiceProcess> Workers { get; } = [];
    public ServiceProcess Gateway { get; private set; } = null!;
    public ServiceProcess TaskApi { get; private set; } = null!;
    public string ConnectionString => _deployment.ConnectionString;

    /// <summary>AgentWorker processes started with the fixture.</summary>
    protected virtual int WorkerCount => 2;

    /// <summary>Settings the fixture's TaskApi gets (configuration keys).</summary>
    protected virtual IEnumerable<(string Key, string Value)> TaskApiSettings => [];

    /// <summary>Settings every worker of the fixture gets (configuration keys, e.g. <c>Mcp:Servers:fs:Command</c>).</summary>
    protected virtual IEnumerable<(string Key, string Value)> WorkerSettings => [];

    public async ValueTask InitializeAsync()
    {
        _deployment = await ProcessDeployment.CreateAsync("agents-it", InternalKey);
        TaskApi = await _deployment.StartAsync("TaskApi", TaskApiSettings);
        for (var i = 0; i < WorkerCount; i++) Workers.Add(await StartWorkerAsync());
        Gateway = await _deployment.StartGatewayAsync(TaskApi);
        await TaskApi.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));
    }

    /// <summary>Another AgentWorker, ready to take tasks (the caller adds it to <see cref="Workers"/> if it wants it listed).</summary>
    public Task<ServiceProcess> StartWorkerAsync(IDictionary<string, string>? extra = null) =>
        _deployment.StartAsync("AgentWorker", [.. WorkerSettings, .. (extra ?? new Dictionary<string, string>()).Select(kv => (kv.Key, kv.Value))], ready: true);

    /// <summary>Another TaskApi on the same database and broker (not behind the gateway).</summary>
    public Task<ServiceProcess> StartTaskApiAsync() => _deployment.StartAsync("TaskApi", TaskApiSettings, ready: true);

    /// <summary>A client of the gateway with a token created in the token store, as an operator would issue it.</summary>
    public Task<HttpClient> GatewayClientAsync(string user) => _deployment.ClientAsync(Gateway, user);

    public virtual async ValueTask DisposeAsync()
    {
        if (_deployment is not null) await _deployment.DisposeAsync();
    }
}
