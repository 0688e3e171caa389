using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Storage.Tests;

/// <summary>One real PostgreSQL database and one SQLite file: every store test runs against both.</summary>
public sealed class StoreFixture : IAsyncLifetime
{
    private PgTestDatabase? _pg;
    private string? _sqliteDir;
    public SqlTaskStore Postgres { get; private set; } = null!;
    public SqlTaskStore Sqlite { get; private set; } = null!;

    public SqlTaskStore Get(string provider) => provider == "postgres" ? Postgres : Sqlite;

    /// <summary>The PostgreSQL database's connection string, for a test that holds locks of its own.</summary>
    public string PostgresConnectionString => _pg!.ConnectionString;

    /// <summary>Runs <paramref name="sql"/> on a database behind the store's back (a row changed by something else).</summary>
    public async Task ExecuteAsync(string provider, string sql, object args)
    {
        await using var db = new SqlDatabase(provider == "postgres"
            ? new DatabaseOptions { Provider = "postgres", ConnectionString = _pg!.ConnectionString }
            : new DatabaseOptions { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_sqliteDir!, "t.db")}" });
        await db.WriteAsync((conn, tx) => Dapper.SqlMapper.ExecuteAsync(conn, sql, args, tx));
    }

    public async ValueTask InitializeAsync()
    {
        _pg = await TestEnv.CreatePgDatabaseAsync();
        Postgres = new SqlTaskStore(new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = _pg.ConnectionString }));
        _sqliteDir = Directory.CreateTempSubdirectory("agents-store-").FullName;
        Sqlite = new SqlTaskStore(new SqlDatabase(new DatabaseOptions { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_sqliteDir, "t.db")}" }));
        await Postgres.EnsureSchemaAsync();
        await Postgres.EnsureSchemaAsync(); // idempotent
        await Sqlite.EnsureSchemaAsync();
        await Sqlite.EnsureSchemaAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_pg is not null) await _pg.DisposeAsync();
        if (_sqliteDir is not null) try { Directory.Delete(_sqliteDir, true); } catch (IOException) { }
    }
}
