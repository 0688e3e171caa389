using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using Agents.Micro.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Agents.Micro.Storage.Tests;

/// <summary>
/// A PostgreSQL database the system cannot use is refused when a service starts, with the reason, instead of the
/// service reporting healthy and every task failing later with a misleading error.
/// </summary>
public sealed class DatabaseCheckTests
{
    [Fact]
    public async Task ServiceStart_OnASqlAsciiDatabase_FailsNamingTheEncodingAndTheFix()
    {
        var name = "agents_ascii_" + Guid.NewGuid().ToString("N")[..10];
        await using (var admin = new NpgsqlConnection(TestEnv.PgAdmin))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0", admin);
            await create.ExecuteNonQueryAsync();
        }
        try
        {
            var cs = new NpgsqlConnectionStringBuilder(TestEnv.PgAdmin) { Database = name }.ToString();
            var builder = Host.CreateApplicationBuilder();
            builder.Services.AddSingleton(new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = cs }));
            builder.Services.AddSingleton<ITaskStore>(sp => new SqlTaskStore(sp.GetRequiredService<SqlDatabase>()));
            builder.Services.AddSchemaInitializer<ITaskStore>("task", (s, ct) => s.EnsureSchemaAsync(ct));
            using var host = builder.Build();

            var started = DateTime.UtcNow;
            var ex = await Assert.ThrowsAsync<DatabaseUnusableException>(() => host.StartAsync());
            Assert.Contains("SQL_ASCII", ex.Message);
            Assert.Contains("ENCODING 'UTF8'", ex.Message);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "an unusable database must be refused at once, not retried");

            // Nothing was created in it.
            await using var conn = new NpgsqlConnection(cs);
            await conn.OpenAsync();
            await using var tables = new NpgsqlCommand("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", conn);
            Assert.Equal(0L, (long)(await tables.ExecuteScalarAsync())!);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await using var admin = new NpgsqlConnection(TestEnv.PgAdmin);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task AUtf8Database_HasNoProblem()
    {
        await using var pg = await TestEnv.CreatePgDatabaseAsync();
        await using var db = new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = pg.ConnectionString });
        Assert.Null(await db.FindProblemAsync());
    }
}
