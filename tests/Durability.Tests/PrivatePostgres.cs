using Npgsql;

namespace Agents.Micro.Durability.Tests;

/// <summary>
/// A PostgreSQL 15 cluster of our own (initdb in a temp directory, its own port), so that these tests can stop and
/// restart the database without touching the shared server other test projects and developers use.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private const string DefaultBin = "/usr/lib/postgresql/15/bin";
    private readonly string _bin;
    private readonly string _root;

    private PrivatePostgres(string bin, string root, int port)
    {
        _bin = bin;
        _root = root;
        Port = port;
    }

    public int Port { get; }
    public string DataDir => Path.Combine(_root, "data");
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=agents;Database=postgres;Pooling=true;Timeout=5";

    public static async Task<PrivatePostgres> StartAsync()
    {
        var bin = Environment.GetEnvironmentVariable("AGENTS_TEST_PG_BIN") ?? DefaultBin;
        if (!File.Exists(Path.Combine(bin, "initdb")))
            throw new InvalidOperationException($"PostgreSQL binaries not found in {bin} (set AGENTS_TEST_PG_BIN) — the durability tests need a private cluster");
        var root = Path.Combine(Path.GetTempPath(), "agents-durable-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        if (OsProcess.IsRoot)
        {
            // initdb refuses to run as root: the cluster belongs to the postgres OS user.
            await OsProcess.RunAsync("chown", ["postgres", root]);
            await OsProcess.RunAsync("chmod", ["755", root]);
        }
        var pg = new PrivatePostgres(bin, root, Agents.Micro.TestSupport.TestEnv.FreePort());
        try
        {
            await OsProcess.RunAsync(Path.Combine(bin, "initdb"), ["-D", pg.DataDir, "-A", "trust", "-U", "agents", "-E", "UTF8", "--no-sync"], asPostgres: true);
            await pg.StartServerAsync();
        }
        catch (Exception ex)
        {
            await pg.DisposeAsync();
            throw new InvalidOperationException($"could not start a private PostgreSQL cluster: {ex.Message}", ex);
        }
        return pg;
    }

    public async Task StartServerAsync()
    {
        await OsProcess.RunAsync(Path.Combine(_bin, "pg_ctl"),
        [
            "-D", DataDir, "-l", Path.Combine(_root, "postgres.log"), "-w", "-t", "60",
            "-o", $"-p {Port} -k {_root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300",
            "start",
        ], asPostgres: true, timeout: TimeSpan.FromSeconds(90));
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
    }

    /// <summary>A fast shutdown: open connections are terminated, as in a real restart or failover.</summary>
    public Task StopServerAsync() =>
        OsProcess.RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDir, "-m", "fast", "-w", "-t", "60", "stop"], asPostgres: true);

    public string Log => File.Exists(Path.Combine(_root, "postgres.log")) ? File.ReadAllText(Path.Combine(_root, "postgres.log")) : "";

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            if (File.Exists(Path.Combine(DataDir, "postmaster.pid")))
                await OsProcess.RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDir, "-m", "immediate", "-w", "stop"], asPostgres: true);
        }
        catch (Exception)
        {
            // Best effort: the cluster lives in a temp directory.
        }
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
