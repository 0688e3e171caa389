using Agents.Micro.ServiceDefaults.Data;
using Npgsql;

namespace Agents.Micro.MemoryService.Tests;

/// <summary>Throwaway databases: a fresh PostgreSQL database (dropped afterwards) or a SQLite file in a temp folder.</summary>
public static class TestDatabases
{
    public static string PostgresAdminConnectionString =>
        Environment.GetEnvironmentVariable("AGENTS_TEST_PG") is { Length: > 0 } cs
            ? cs
            : "Host=127.0.0.1;Port=5432;Username=agents;Password=agents;Database=postgres";

    /// <summary>Creates an empty database and returns its connection string. Fails (never skips) when PostgreSQL is down.</summary>
    public static async Task<string> CreatePostgresAsync()
    {
        var name = "agents_test_" + Guid.NewGuid().ToString("N");
        await using (var conn = new NpgsqlConnection(PostgresAdminConnectionString))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name} ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(PostgresAdminConnectionString) { Database = name }.ConnectionString;
    }

    public static async Task DropPostgresAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(PostgresAdminConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync();
    }

    public static string NewSqliteFile() =>
        Path.Combine(Path.GetTempPath(), "agents-memory-tests", Guid.NewGuid().ToString("N"), "memory.db");

    public static void DeleteSqliteFile(string path)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(Path.GetDirectoryName(path)!, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }

    public static DatabaseOptions Options(SqlDialect dialect, string connectionString) => new()
    {
        Provider = dialect == SqlDialect.Postgres ? "postgres" : "sqlite",
        ConnectionString = dialect == SqlDialect.Postgres ? connectionString : $"Data Source={connectionString}",
    };
}
