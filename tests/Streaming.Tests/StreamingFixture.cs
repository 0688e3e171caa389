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
    private ProcessDeployment _deployment = null!;
    public ServiceProcess Gateway { get; private set; } = null!;
    public ServiceProcess TaskApi { get; private set; } = null!;
    public ServiceProcess Worker { get; private set; } = null!;
    public string ConnectionString => _deployment.ConnectionString;

    public async ValueTask InitializeAsync()
    {
        _deployment = await ProcessDeployment.CreateAsync("agents-stream", InternalKey,
        [
            ("LocalModel:ChunkDelayMs", ChunkDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Streaming:RecheckSeconds", "60"),
            ("Streaming:KeepAliveSeconds", "1"),
        ]);
        TaskApi = await _deployment.StartAsync("TaskApi");
        Worker = await _deployment.StartAsync("AgentWorker");
        Gateway = await _deployment.StartGatewayAsync(TaskApi);
        await TaskApi.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));
        await Worker.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));
    }

    /// <summary>A token created in the token store, as an operator would issue it.</summary>
    public Task<string> TokenAsync(string user) => _deployment.TokenAsync(user);

    /// <summary>A client of the gateway authenticated as <paramref name="user"/>.</summary>
    public Task<HttpClient> ClientAsync(string user) => _deployment.ClientAsync(Gateway, user, timeout: TimeSpan.FromSeconds(120));

    public async ValueTask DisposeAsync()
    {
        if (_deployment is not null) await _deployment.DisposeAsync();
    }
}
