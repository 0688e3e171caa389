using System.Diagnostics;
using System.Net.Http.Headers;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.TestSupport;
using Npgsql;

namespace Agents.Micro.Integration.Tests;

/// <summary>
/// The whole public API as production runs it: Gateway in front of TaskApi, FileService and MemoryService, plus one
/// AgentWorker, each an OS process, on real PostgreSQL and RabbitMQ (own database and virtual host) and a local file
/// folder. Limits are small so that the bad-input corpus can go past them cheaply; the rate limit is high so that it
/// never answers for a test that is not about it.
/// </summary>
public sealed class EdgeFixture : IAsyncLifetime
{
    public const string InternalKey = "edge-test-internal-key-0123456789abcdef0123";
    public const long MaxJsonBytes = 64 * 1024;
    public const long MaxUploadBytes = 256 * 1024;

    private PgTestDatabase? _db;
    private RabbitVhost? _vhost;
    private readonly string _files = Directory.CreateTempSubdirectory("agents-edge-files-").FullName;
    private readonly List<ServiceProcess> _processes = [];

    public ServiceProcess Gateway { get; private set; } = null!;
    public ServiceProcess TaskApi { get; private set; } = null!;
    public ServiceProcess Files { get; private set; } = null!;
    public ServiceProcess Memory { get; private set; } = null!;
    public string ConnectionString => _db!.ConnectionString;
    public string FilesRoot => _files;

    private Dictionary<string, string> CommonEnv() => new()
    {
        ["Database__Provider"] = "postgres",
        ["Database__ConnectionString"] = _db!.ConnectionString,
        ["Messaging__Transport"] = "rabbitmq",
        ["Messaging__RabbitMq__Host"] = TestEnv.RabbitHost,
        ["Messaging__RabbitMq__VirtualHost"] = _vhost!.Name,
        ["Auth__InternalKey"] = InternalKey,
        ["FileStorage__Provider"] = "local",
        ["FileStorage__LocalRoot"] = _files,
        ["FileStorage__MaxUploadBytes"] = MaxUploadBytes.ToString(),
        ["LocalModel__ChunkDelayMs"] = "5",
        ["Worker__RecallTimeoutMs"] = "300",
        ["Logging__LogLevel__Default"] = "Warning",
    };

    public async ValueTask InitializeAsync()
    {
        _db = await TestEnv.CreatePgDatabaseAsync();
        _vhost = await RabbitVhost.CreateAsync("agents-edge");
        // One at a time: they create their tables in the same database at start-up.
        TaskApi = await StartAsync("TaskApi", "Agents.Micro.TaskApi", CommonEnv());
        Memory = await StartAsync("MemoryService", "Agents.Micro.MemoryService", CommonEnv());
        Files = await StartAsync("FileService", "Agents.Micro.FileService", CommonEnv());
        var worker = await StartAsync("AgentWorker", "Agents.Micro.AgentWorker", CommonEnv());
        var gw = CommonEnv();
        gw["ReverseProxy__Clusters__taskapi__Destinations__d1__Address"] = TaskApi.BaseUrl;
        gw["ReverseProxy__Clusters__files__Destinations__d1__Address"] = Files.BaseUrl;
        gw["ReverseProxy__Clusters__memory__Destinations__d1__Address"] = Memory.BaseUrl;
        gw["RateLimit__PermitsPerSecond"] = "10000";
        gw["RateLimit__Burst"] = "10000";
        gw["Limits__MaxJsonBytes"] = MaxJsonBytes.ToString();
        gw["Limits__MaxUploadBytes"] = MaxUploadBytes.ToString();
        Gateway = await StartAsync("Gateway", "Agents.Micro.Gateway", gw);
        foreach (var p in new[] { TaskApi, Memory, Files, worker }) await p.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));
    }

    private async Task<ServiceProcess> StartAsync(string project, string assembly, Dictionary<string, string> env)
    {
        var p = await ServiceProcess.StartAsync(project, assembly, env);
        _processes.Add(p);
        return p;
    }

    /// <summary>A client of the gateway with a token created in the token store, as an operator would issue it.</summary>
    public async Task<HttpClient> ClientAsync(string user, bool admin = false)
    {
        var store = new TokenStore(new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = ConnectionString }));
        var token = await store.CreateAsync(user, "edge-test", admin);
        var c = new HttpClient { BaseAddress = new Uri(Gateway.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    /// <summary>A client of the gateway without a token.</summary>
    public HttpClient AnonymousClient() => new() { BaseAddress = new Uri(Gateway.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>How many rows and files a user owns: conversations, tasks, task events, memories, files.</summary>
    public async Task<string> FootprintAsync(string user)
    {
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        var parts = new List<string>();
        foreach (var (name, sql) in new[]
        {
            ("conversations", "SELECT count(*) FROM conversations WHERE user_id = @u"),
            ("tasks", "SELECT count(*) FROM tasks WHERE user_id = @u"),
            ("events", "SELECT count(*) FROM task_events e JOIN tasks t ON t.id = e.task_id WHERE t.user_id = @u"),
            ("memories", "SELECT count(*) FROM memories WHERE user_id = @u"),
        })
        {
            await using var cmd = new NpgsqlCommand(sql, conn);
            cmd.Parameters.AddWithValue("u", user);
            parts.Add($"{name}={await cmd.ExecuteScalarAsync()}");
        }
        var dir = Path.Combine(_files, user);
        var files = Directory.Exists(dir) ? Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).Count() : 0;
        parts.Add($"files={files}");
        return string.Join(", ", parts);
    }


    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes) await p.DisposeAsync();
        if (_vhost is not null) await _vhost.DisposeAsync();
        if (_db is not null) await _db.DisposeAsync();
        try { Directory.Delete(_files, true); } catch (IOException) { }
    }
}
