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

    private ProcessDeployment _deployment = null!;
    private readonly string _files = Directory.CreateTempSubdirectory("agents-edge-files-").FullName;

    public ServiceProcess Gateway { get; private set; } = null!;
    public ServiceProcess TaskApi { get; private set; } = null!;
    public ServiceProcess Files { get; private set; } = null!;
    public ServiceProcess Memory { get; private set; } = null!;
    public string ConnectionString => _deployment.ConnectionString;
    public string FilesRoot => _files;

    public async ValueTask InitializeAsync()
    {
        _deployment = await ProcessDeployment.CreateAsync("agents-edge", InternalKey,
        [
            ("FileStorage:Provider", "local"),
            ("FileStorage:LocalRoot", _files),
            ("FileStorage:MaxUploadBytes", MaxUploadBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Logging:LogLevel:Default", "Warning"),
        ]);
        // One at a time: they create their tables in the same database at start-up.
        TaskApi = await _deployment.StartAsync("TaskApi");
        Memory = await _deployment.StartAsync("MemoryService");
        Files = await _deployment.StartAsync("FileService");
        var worker = await _deployment.StartAsync("AgentWorker");
        Gateway = await _deployment.StartGatewayAsync(TaskApi, Files, Memory,
        [
            ("RateLimit:PermitsPerSecond", "10000"),
            ("RateLimit:Burst", "10000"),
            ("Limits:MaxJsonBytes", MaxJsonBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Limits:MaxUploadBytes", MaxUploadBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ]);
        foreach (var p in new[] { TaskApi, Memory, Files, worker }) await p.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));
    }

    /// <summary>A client of the gateway with a token created in the token store, as an operator would issue it.</summary>
    public Task<HttpClient> ClientAsync(string user, bool admin = false) => _deployment.ClientAsync(Gateway, user, admin, TimeSpan.FromSeconds(30));

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
        if (_deployment is not null) await _deployment.DisposeAsync();
        try { Directory.Delete(_files, true); } catch (IOException) { }
    }
}
