using Npgsql;

namespace Agents.Micro.TestSupport;

/// <summary>Where the test servers are (scripts/test-infra.sh starts them; CI fails, never skips, when one is missing).</summary>
public static class TestEnv
{
    public static string PgAdmin => Environment.GetEnvironmentVariable("AGENTS_TEST_PG")
        ?? "Host=127.0.0.1;Port=5432;Username=agents;Password=agents;Database=postgres";

    public static string RabbitHost => Environment.GetEnvironmentVariable("AGENTS_TEST_RABBIT_HOST") ?? "127.0.0.1";

    /// <summary>A fresh PostgreSQL database for one test class; dropped on dispose.</summary>
    public static async Task<PgTestDatabase> CreatePgDatabaseAsync()
    {
        var name = "agents_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new NpgsqlConnection(PgAdmin))
        {
            try { await admin.OpenAsync(); }
            catch (Exception ex)
            {
                throw new InvalidOperationException($"PostgreSQL is not reachable at '{PgAdmin}' — run scripts/test-infra.sh up ({ex.Message})", ex);
            }
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0", admin);
            await cmd.ExecuteNonQueryAsync();
        }
        var csb = new NpgsqlConnectionStringBuilder(PgAdmin) { Database = name, Pooling = true };
        return new PgTestDatabase(name, csb.ToString());
    }

    /// <summary>The repository root (where Agents.Micro.slnx is).</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Agents.Micro.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    /// <summary>Debug or Release: whatever this test assembly was built as.</summary>
    public static string Configuration => AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

    /// <summary>
    /// Removes a test's SQLite data: closes the pooled connections that hold it open, then deletes the database file
    /// with its <c>-wal</c> and <c>-shm</c> files, or a whole folder. Best effort: it is temporary data.
    /// </summary>
    public static void DeleteSqlite(string path)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else foreach (var f in new[] { path, path + "-wal", path + "-shm" }) File.Delete(f);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// The embedded host's development token from its data folder. A hosted service writes it, possibly just after the
    /// server answers <c>/health/live</c>, so this waits for the file (up to <paramref name="timeout"/>, 10 s by default).
    /// </summary>
    public static async Task<string> DevTokenAsync(string dataDir, TimeSpan? timeout = null)
    {
        var file = Path.Combine(dataDir, "dev-token");
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!File.Exists(file) || new FileInfo(file).Length == 0)
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"{file} was not written within {timeout ?? TimeSpan.FromSeconds(10)}");
            await Task.Delay(50);
        }
        return (await File.ReadAllTextAsync(file)).Trim();
    }

    public static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

public sealed class PgTestDatabase(string name, string connectionString) : IAsyncDisposable
{
    public string Name { get; } = name;
    public string ConnectionString { get; } = connectionString;

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var admin = new NpgsqlConnection(TestEnv.PgAdmin);
            await admin.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", admin);
            await cmd.ExecuteNonQueryAsync();
        }
        catch
        {
            // Best effort: a leftover test database is harmless.
        }
    }
}
