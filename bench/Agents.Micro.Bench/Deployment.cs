using Agents.Micro.Gateway.Tokens;
using System.Data.Common;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.TestSupport;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Agents.Micro.Bench;

/// <summary>
/// A running system under test. Distributed: Gateway, TaskApi, FileService, MemoryService and N AgentWorkers as separate
/// processes on real PostgreSQL, RabbitMQ (own vhost) and S3. Embedded: services/Standalone as one process (SQLite,
/// in-memory bus, local files). Both with the local model at zero chunk delay and limits far above the load.
/// </summary>
public sealed class Deployment : IAsyncDisposable
{
    public const string InternalKey = "bench-internal-key-0123456789abcdef-0123456789";
    private readonly List<ServiceProcess> _processes = [];
    private readonly string _id = Guid.NewGuid().ToString("N")[..10];
    private string? _dbName, _vhost, _dataDir;

    public bool Embedded { get; private init; }
    public string Label => Embedded ? "embedded" : "distributed";
    public ServiceProcess Gateway { get; private set; } = null!;
    public ServiceProcess? TaskApi { get; private set; }
    public ServiceProcess? FileService { get; private set; }
    public List<ServiceProcess> Workers { get; } = [];
    public string ConnectionString { get; private set; } = "";
    public string Bucket => "bench-" + _id;
    public string VirtualHost => _vhost!;
    private string _token = "";

    /// <summary>Settings both setups share: zero model delay, rate/body/active-task limits far above the load.</summary>
    private static Dictionary<string, string> Common() => new()
    {
        ["LocalModel__ChunkDelayMs"] = "0",
        ["RateLimit__PermitsPerSecond"] = "1000000",
        ["RateLimit__Burst"] = "1000000",
        ["Limits__MaxUploadBytes"] = (2L << 30).ToString(),
        ["FileStorage__MaxUploadBytes"] = (2L << 30).ToString(),
        // the per-user cap on running tasks (issue: several names were in flight; unknown keys are ignored)
        ["Tasks__MaxActivePerUser"] = "1000000",
        ["Dispatch__MaxActivePerUser"] = "1000000",
        ["TaskApi__MaxActivePerUser"] = "1000000",
        // One user ("bench") sends everything: the fair-share limit on running tasks would measure the policy, not the system.
        ["Worker__MaxRunningPerUser"] = "100000",
        ["Worker__MaxConcurrentTasks"] = Environment.GetEnvironmentVariable("BENCH_WORKER_CONCURRENCY") ?? "16",
        ["Logging__LogLevel__Default"] = "Warning",
        ["OTEL_SDK_DISABLED"] = "true",
    };

    private Dictionary<string, string> DistributedEnv()
    {
        var env = Common();
        env["Database__Provider"] = "postgres";
        env["Database__ConnectionString"] = ConnectionString;
        env["Messaging__Transport"] = "rabbitmq";
        env["Messaging__RabbitMq__Host"] = Infra.RabbitHost;
        env["Messaging__RabbitMq__VirtualHost"] = _vhost!;
        env["Auth__InternalKey"] = InternalKey;
        env["FileStorage__Provider"] = "s3";
        env["FileStorage__S3__ServiceUrl"] = Infra.S3Url;
        env["FileStorage__S3__AccessKey"] = Infra.S3Key;
        env["FileStorage__S3__SecretKey"] = Infra.S3Secret;
        env["FileStorage__S3__Bucket"] = Bucket;
        foreach (var (k, v) in ExtraEnv) env[k] = v;
        return env;
    }

    /// <summary>BENCH_ENV="Key=Value;Key2=Value2" is passed to every service (for before/after runs of a knob).</summary>
    private static IEnumerable<(string, string)> ExtraEnv =>
        (Environment.GetEnvironmentVariable("BENCH_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries)
        .Select(kv => kv.Split('=', 2)).Where(kv => kv.Length == 2).Select(kv => (kv[0].Trim(), kv[1].Trim()));

    public static async Task<Deployment> StartDistributedAsync(int workers)
    {
        var d = new Deployment();
        d._dbName = "agents_bench_" + d._id;
        d._vhost = "agents-bench-" + d._id;
        d.ConnectionString = await Infra.CreateDatabaseAsync(d._dbName);
        await Infra.RabbitmqctlAsync($"add_vhost {d._vhost}");
        await Infra.RabbitmqctlAsync($"set_permissions -p {d._vhost} guest .* .* .*");
        var env = d.DistributedEnv();
        d.TaskApi = d.Track(await ServiceProcess.StartAsync("TaskApi", "Agents.Micro.TaskApi", env));
        await d.TaskApi.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(60));
        d.FileService = d.Track(await ServiceProcess.StartAsync("FileService", "Agents.Micro.FileService", env));
        var memory = d.Track(await ServiceProcess.StartAsync("MemoryService", "Agents.Micro.MemoryService", env));
        for (var i = 0; i < workers; i++) await d.AddWorkerAsync();
        var gw = d.DistributedEnv();
        gw["ReverseProxy__Clusters__taskapi__Destinations__d1__Address"] = d.TaskApi.BaseUrl;
        gw["ReverseProxy__Clusters__files__Destinations__d1__Address"] = d.FileService.BaseUrl;
        gw["ReverseProxy__Clusters__memory__Destinations__d1__Address"] = memory.BaseUrl;
        d.Gateway = d.Track(await ServiceProcess.StartAsync("Gateway", "Agents.Micro.Gateway", gw));
        await d.Gateway.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(60));
        var tokens = new TokenStore(new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = d.ConnectionString }));
        d._token = await tokens.CreateAsync("bench", "bench", false);
        return d;
    }

    public static async Task<Deployment> StartEmbeddedAsync()
    {
        var d = new Deployment { Embedded = true };
        d._dataDir = Path.Combine(Path.GetTempPath(), "agents-bench-" + d._id);
        Directory.CreateDirectory(d._dataDir);
        var env = Common();
        env["AGENTS_DATA_DIR"] = d._dataDir;
        foreach (var (k, v) in ExtraEnv) env[k] = v;
        d.Gateway = d.Track(await ServiceProcess.StartAsync("Standalone", "Agents.Micro.Standalone", env));
        await d.Gateway.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(60));
        d.ConnectionString = $"Data Source={Path.Combine(d._dataDir, "agents.db")};Mode=ReadOnly";
        d._token = (await File.ReadAllTextAsync(Path.Combine(d._dataDir, "dev-token"))).Trim();
        return d;
    }

    private ServiceProcess Track(ServiceProcess p)
    {
        _processes.Add(p);
        return p;
    }

    public async Task AddWorkerAsync()
    {
        var w = Track(await ServiceProcess.StartAsync("AgentWorker", "Agents.Micro.AgentWorker", DistributedEnv()));
        await w.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(60));
        Workers.Add(w);
    }

    public Api Client() => new(Gateway.BaseUrl, _token);

    /// <summary>A client that talks to TaskApi directly with a signed identity, as the gateway would forward it.</summary>
    public Api DirectTaskApiClient() =>
        new(TaskApi!.BaseUrl, null, new InternalIdentity(InternalKey).Sign(new CallerIdentity(Embedded ? "dev" : "bench", false), TimeSpan.FromHours(2)));

    /// <summary>A client that talks to FileService directly with a signed identity (what the gateway adds is then visible).</summary>
    public Api DirectFileServiceClient() =>
        new(FileService!.BaseUrl, null, new InternalIdentity(InternalKey).Sign(new CallerIdentity("bench", false), TimeSpan.FromHours(2)));

    public string UserId => Embedded ? "dev" : "bench";

    /// <summary>Every process of the deployment (services and workers).</summary>
    public IReadOnlyList<ServiceProcess> Processes => _processes;

    /// <param name="ownScansOnly">PostgreSQL: this connection's queries never use an index (each reads its tables by one
    /// full scan), so that the bench can subtract its own reads from the table-scan counters exactly.</param>
    public DbConnection OpenDb(bool ownScansOnly = false)
    {
        var cs = ownScansOnly && !Embedded
            ? new NpgsqlConnectionStringBuilder(ConnectionString) { Options = "-c enable_indexscan=off -c enable_bitmapscan=off -c enable_indexonlyscan=off" }.ConnectionString
            : ConnectionString;
        DbConnection c = Embedded ? new SqliteConnection(cs) : new NpgsqlConnection(cs);
        c.Open();
        return c;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in Enumerable.Reverse(_processes)) await p.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (_dbName is not null) await Infra.DropDatabaseAsync(_dbName);
        if (_vhost is not null) try { await Infra.RabbitmqctlAsync($"delete_vhost {_vhost}"); } catch (InvalidOperationException) { }
        if (_dataDir is not null) try { Directory.Delete(_dataDir, true); } catch (IOException) { }
    }
}
