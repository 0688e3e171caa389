using System.Net.Http.Headers;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.TestSupport;
using Npgsql;

namespace Agents.Micro.Durability.Tests;

/// <summary>
/// A private PostgreSQL cluster and a RabbitMQ container (these tests stop and restart them, so they must never be the shared
/// servers), with TaskApi running as an OS process on them. Workers are started per test, with short leases and
/// heartbeats so that recovery happens in seconds rather than the production half-minute.
/// </summary>
public sealed class DurabilityFixture : IAsyncLifetime
{
    public const string InternalKey = "durability-tests-internal-key-0123456789abcdef";

    /// <summary>The knobs the tests run with (production defaults: lease 30 s, heartbeat 5 s, sweep 5 s).</summary>
    public const double LeaseSeconds = 4;
    public const double HeartbeatSeconds = 1;
    public const int SweepSeconds = 1;

    private readonly InternalIdentity _identity = new(InternalKey);

    public PrivatePostgres Postgres { get; private set; } = null!;
    public BrokerContainer Rabbit { get; private set; } = null!;
    public ServiceProcess TaskApi { get; private set; } = null!;

    public Dictionary<string, string> CommonEnv() => new()
    {
        ["Database__Provider"] = "postgres",
        ["Database__ConnectionString"] = Postgres.ConnectionString,
        ["Messaging__Transport"] = "rabbitmq",
        ["Messaging__RabbitMq__Host"] = "127.0.0.1",
        ["Messaging__RabbitMq__Port"] = Rabbit.Port.ToString(),
        ["Auth__InternalKey"] = InternalKey,
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__Agents"] = "Information",
        ["OTEL_SDK_DISABLED"] = "true",
    };

    public async ValueTask InitializeAsync()
    {
        Postgres = await PrivatePostgres.StartAsync();
        Rabbit = await BrokerContainer.CreateAsync();
        var env = CommonEnv();
        env["Dispatch__SweepIntervalSeconds"] = SweepSeconds.ToString();
        env["Dispatch__RedispatchAfterSeconds"] = "5";
        env["Dispatch__SendTimeoutMs"] = "500";
        env["Tasks__MaxActivePerUser"] = "500";
        TaskApi = await ServiceProcess.StartAsync("TaskApi", "Agents.Micro.TaskApi", env);
        await TaskApi.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(60));
    }

    /// <summary>An AgentWorker process on the private servers: the local model streaming one chunk every <paramref name="chunkDelayMs"/>.</summary>
    public async Task<ServiceProcess> StartWorkerAsync(int chunkDelayMs = 40, double leaseSeconds = LeaseSeconds, int maxConcurrent = 48)
    {
        var env = CommonEnv();
        env["LocalModel__ChunkDelayMs"] = chunkDelayMs.ToString();
        env["Worker__LeaseSeconds"] = leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["Worker__HeartbeatSeconds"] = HeartbeatSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["Worker__MaxConcurrentTasks"] = maxConcurrent.ToString();
        // These tests load the workers with one user's tasks; sharing between users is FairnessTests' subject.
        env["Worker__MaxRunningPerUser"] = "1000";
        env["Worker__DrainSeconds"] = "10";
        env["Worker__RecallLimit"] = "0"; // no MemoryService here: do not wait for a recall that cannot answer
        var w = await ServiceProcess.StartAsync("AgentWorker", "Agents.Micro.AgentWorker", env);
        await w.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(60));
        return w;
    }

    /// <summary>A client of TaskApi carrying <paramref name="user"/>'s identity, signed as the gateway signs it.</summary>
    public HttpClient ClientFor(string user)
    {
        var c = new HttpClient { BaseAddress = new Uri(TaskApi.BaseUrl), Timeout = TimeSpan.FromSeconds(30) }.SignedAs(_identity, user);
        c.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return c;
    }

    public async Task<NpgsqlConnection> OpenDbAsync()
    {
        var c = new NpgsqlConnection(Postgres.ConnectionString);
        await c.OpenAsync();
        return c;
    }

    public async ValueTask DisposeAsync()
    {
        if (TaskApi is not null) await TaskApi.DisposeAsync();
        if (Rabbit is not null) await Rabbit.DisposeAsync();
        if (Postgres is not null) await Postgres.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class DurabilityCollection : ICollectionFixture<DurabilityFixture>
{
    /// <summary>One collection: the tests stop and restart shared (private) servers, so they run one at a time.</summary>
    public const string Name = "durability";
}
