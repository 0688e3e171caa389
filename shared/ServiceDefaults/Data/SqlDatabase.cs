using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Agents.Micro.ServiceDefaults.Data;

/// <summary>The SQL dialects the stores speak.</summary>
public enum SqlDialect { Postgres, Sqlite }

/// <summary>
/// Opens connections to the configured database and hides the few dialect differences the stores care about.
/// SQLite allows one writer at a time: <see cref="WriteAsync{T}"/> serialises writers in-process so that
/// concurrent tasks in the embedded host queue instead of failing with SQLITE_BUSY.
/// </summary>
public sealed class SqlDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource? _pg;
    private readonly string? _sqlite;
    private readonly SemaphoreSlim _sqliteWriter = new(1, 1);

    public SqlDatabase(DatabaseOptions options)
    {
        if (options.Provider.Equals("postgres", StringComparison.OrdinalIgnoreCase))
        {
            Dialect = SqlDialect.Postgres;
            var pg = new NpgsqlDataSourceBuilder(WithoutSessionReset(WithBoundedPool(WithIdleTransactionTimeout(options.ConnectionString))));
            // Database spans only inside other work (see TraceCommand); no spans for the pool's physical connection opens,
            // which a background loop would otherwise start as traces of their own.
            pg.ConfigureTracing(t => t
                .ConfigureCommandFilter(_ => Telemetry.TelemetryExtensions.TraceCommand())
                .ConfigureBatchFilter(_ => Telemetry.TelemetryExtensions.TraceCommand())
                .ConfigureCopyOperationFilter(_ => Telemetry.TelemetryExtensions.TraceCommand())
                .EnablePhysicalOpenTracing(false));
            _pg = pg.Build();
        }
        else
        {
            Dialect = SqlDialect.Sqlite;
            var csb = new SqliteConnectionStringBuilder(options.ConnectionString) { Pooling = true, DefaultTimeout = 30 };
            var dir = Path.GetDirectoryName(Path.GetFullPath(csb.DataSource));
            if (!string.IsNullOrEmpty(dir) && csb.DataSource != ":memory:") Directory.CreateDirectory(dir);
            _sqlite = csb.ToString();
        }
    }

    public SqlDialect Dialect { get; }

    /// <summary>
    /// Why this database cannot hold the system's data, or null when it can. PostgreSQL must store text as UTF-8: a
    /// SQL_ASCII (or LATIN1…) database refuses every JSON value with non-ASCII text or \u escapes (SQLSTATE 0A000,
    /// 22P05), so every task would fail at its first write.
    /// </summary>
    public async Task<string?> FindProblemAsync(CancellationToken ct = default)
    {
        if (Dialect != SqlDialect.Postgres) return null;
        await using var conn = await OpenAsync(ct);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT current_database(), pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()";
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        var (name, encoding) = (reader.GetString(0), reader.GetString(1));
        return encoding == "UTF8" ? null
            : $"PostgreSQL database '{name}' has encoding {encoding}; Agents.Micro needs UTF8. Create it with " +
              $"CREATE DATABASE \"{name}\" ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0 (or initdb -E UTF8)";
    }

    /// <summary>
    /// A process frozen in the middle of a transaction (SIGSTOP, a VM pause, a stuck GC) would hold its row locks for
    /// ever, and every claim, cancel or dispatch mark of that task would wait behind it: the lease could expire but
    /// nobody could take the task over. The server therefore ends sessions idle inside a transaction after 10 s (our
    /// transactions take milliseconds), unless the connection string sets <c>idle_in_transaction_session_timeout</c> itself.
    /// </summary>
    public static string WithIdleTransactionTimeout(string connectionString)
    {
        var csb = new NpgsqlConnectionStringBuilder(connectionString);
        if (csb.Options?.Contains("idle_in_transaction_session_timeout", StringComparison.Ordinal) == true) return connectionString;
        csb.Options = ((csb.Options ?? "") + " -c idle_in_transaction_session_timeout=10000").Trim();
        return csb.ToString();
    }

    /// <summary>Connections one process opens at most unless the connection string says otherwise (Npgsql's own default is 100).</summary>
    public const int DefaultMaxPoolSize = 20;

    /// <summary>
    /// Every service and worker process has its own pool against one server. With Npgsql's default of 100 per process, a
    /// burst makes a few processes exhaust PostgreSQL's <c>max_connections</c> (100 by default) and every other process
    /// then fails with "too many clients". A bounded pool makes a burst wait briefly for a connection instead.
    /// </summary>
    public static string WithBoundedPool(string connectionString)
    {
        var csb = new NpgsqlConnectionStringBuilder(connectionString);
        if (connectionString.Contains("Maximum Pool Size", StringComparison.OrdinalIgnoreCase)
            || connectionString.Contains("MaxPoolSize", StringComparison.OrdinalIgnoreCase)
            || connectionString.Contains("Max Pool Size", StringComparison.OrdinalIgnoreCase)) return connectionString;
        csb.MaxPoolSize = DefaultMaxPoolSize;
        return csb.ToString();
    }

    /// <summary>
    /// Npgsql resets a pooled connection (<c>DISCARD ALL</c>) before reusing it, and the server counts that as a
    /// transaction of its own: every read and write cost two (measured: 203 transactions for 100 pooled open + SELECT,
    /// 104 without the reset). This code keeps no session state — settings are <c>SET LOCAL</c>, advisory locks are
    /// transaction-scoped, statements are not prepared — so there is nothing to reset. A connection string that sets
    /// <c>No Reset On Close</c> itself wins.
    /// </summary>
    public static string WithoutSessionReset(string connectionString)
    {
        if (connectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase)
            || connectionString.Contains("NoResetOnClose", StringComparison.OrdinalIgnoreCase)) return connectionString;
        return new NpgsqlConnectionStringBuilder(connectionString) { NoResetOnClose = true }.ToString();
    }

    public bool IsPostgres => Dialect == SqlDialect.Postgres;

    /// <summary>The JSON column type: JSONB on PostgreSQL, TEXT on SQLite.</summary>
    public string JsonType => IsPostgres ? "JSONB" : "TEXT";

    /// <summary>A parameter reference that the database stores as JSON.</summary>
    public string Json(string parameter) => IsPostgres ? $"CAST(@{parameter} AS JSONB)" : $"@{parameter}";

    /// <summary>
    /// JSON text as a JSON column accepts it. PostgreSQL's JSONB refuses the NUL character (<c>\u0000</c>), which a tool
    /// reading a binary or UTF-16 file easily produces; it becomes U+FFFD, the replacement character, on both databases.
    /// </summary>
    public static string StorableJson(string json) =>
        json.Contains("\\u0000", StringComparison.Ordinal) ? json.Replace("\\u0000", "\\uFFFD", StringComparison.Ordinal) : json;

    /// <summary>Reads a JSON column back as text.</summary>
    public string JsonText(string column) => IsPostgres ? $"{column}::text" : column;

    public async Task<DbConnection> OpenAsync(CancellationToken ct = default)
    {
        if (_pg is not null) return await _pg.OpenConnectionAsync(ct);
        var c = new SqliteConnection(_sqlite);
        await c.OpenAsync(ct);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;";
        await cmd.ExecuteNonQueryAsync(ct);
        return c;
    }

    /// <summary>Runs <paramref name="work"/> in one transaction, serialised per process on SQLite.</summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct = default)
    {
        if (!IsPostgres) await _sqliteWriter.WaitAsync(ct);
        try
        {
            await using var conn = await OpenAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);
            var result = await work(conn, tx);
            await tx.CommitAsync(ct);
            return result;
        }
        finally
        {
            if (!IsPostgres) _sqliteWriter.Release();
        }
    }

    /// <summary>Runs schema DDL once per database, even when several processes start together.</summary>
    public async Task EnsureSchemaAsync(string lockName, IEnumerable<string> statements, CancellationToken ct = default)
    {
        await WriteAsync<int>(async (conn, tx) =>
        {
            if (IsPostgres)
            {
                await using var lk = conn.CreateCommand();
                lk.Transaction = tx;
                lk.CommandText = $"SELECT pg_advisory_xact_lock({StableHash(lockName)})";
                await lk.ExecuteNonQueryAsync(ct);
            }
            foreach (var sql in statements)
            {
                await using var cmd = conn.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = sql;
                await cmd.ExecuteNonQueryAsync(ct);
            }
            return 0;
        }, ct);
    }

    /// <summary>True when <paramref name="ex"/> is a unique-constraint violation in either dialect.</summary>
    public static bool IsUniqueViolation(Exception ex) => ex switch
    {
        PostgresException pg => pg.SqlState == PostgresErrorCodes.UniqueViolation,
        SqliteException sq => sq.SqliteErrorCode == 19 && (sq.SqliteExtendedErrorCode is 2067 or 1555),
        _ => false,
    };

    public static long StableHash(string s)
    {
        long h = 1125899906842597L;
        foreach (var ch in s) h = 31 * h + ch;
        return h;
    }

    public async ValueTask DisposeAsync()
    {
        if (_pg is not null) await _pg.DisposeAsync();
        _sqliteWriter.Dispose();
    }
}
