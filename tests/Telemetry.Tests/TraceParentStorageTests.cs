using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using Agents.Micro.TestSupport;
using Dapper;

namespace Agents.Micro.Telemetry.Tests;

/// <summary>
/// The task row keeps the traceparent of the request that created it, on both dialects, including a database created
/// before the column existed (the schema step adds it, and running it again is harmless).
/// </summary>
public sealed class TraceParentStorageTests
{
    private const string Parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    [Fact]
    public async Task Sqlite_OldDatabase_GainsTheColumn_AndKeepsTheTraceParent()
    {
        var file = Path.Combine(Path.GetTempPath(), $"agents-trace-{Guid.NewGuid():N}.db");
        try
        {
            await using var db = new SqlDatabase(new DatabaseOptions { Provider = "sqlite", ConnectionString = $"Data Source={file}" });
            await RoundTripAsync(db, "ALTER TABLE tasks DROP COLUMN trace_parent");
        }
        finally
        {
            TestEnv.DeleteSqlite(file);
        }
    }

    [Fact]
    public async Task Postgres_OldDatabase_GainsTheColumn_AndKeepsTheTraceParent()
    {
        await using var pg = await TestEnv.CreatePgDatabaseAsync();
        await using var db = new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = pg.ConnectionString });
        await RoundTripAsync(db, "ALTER TABLE tasks DROP COLUMN trace_parent");
    }

    private static async Task RoundTripAsync(SqlDatabase db, string makeOld)
    {
        var store = new SqlTaskStore(db);
        await store.EnsureSchemaAsync();
        await db.WriteAsync((c, tx) => c.ExecuteAsync(makeOld, transaction: tx));
        await store.EnsureSchemaAsync();
        await store.EnsureSchemaAsync();

        await store.CreateConversationAsync(new Conversation { Id = "c1", UserId = "u1", CreatedAt = 1, UpdatedAt = 1 });
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(new TaskRecord
        {
            Id = "t1", ConversationId = "c1", UserId = "u1", Query = "q", CreatedAt = 2, UpdatedAt = 2, TraceParent = Parent,
        }, createConversation: false));
        Assert.Equal(Parent, (await store.GetTaskAsync("t1"))!.TraceParent);
        var claimed = await store.TryClaimAsync("t1", "w1", 100, 3);
        Assert.Equal(Parent, claimed!.TraceParent);
    }
}
