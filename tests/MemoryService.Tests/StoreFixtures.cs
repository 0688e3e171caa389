using Agents.Micro.MemoryService.Options;
using Agents.Micro.MemoryService.Storage;
using Agents.Micro.ServiceDefaults.Data;

namespace Agents.Micro.MemoryService.Tests;

/// <summary>One throwaway database per test class; each test uses its own user ids, so tests do not see each other.</summary>
public abstract class StoreFixture(SqlDialect dialect) : IAsyncLifetime
{
    private readonly List<SqlDatabase> _databases = [];

    public SqlDialect Dialect => dialect;

    protected string Location { get; set; } = "";

    public SqlMemoryStore Store { get; private set; } = null!;

    public SqlMemoryStore CreateStore(MemoryOptions? options = null)
    {
        var db = new SqlDatabase(TestDatabases.Options(dialect, Location));
        _databases.Add(db);
        return new SqlMemoryStore(db, Microsoft.Extensions.Options.Options.Create(options ?? new MemoryOptions()), TimeProvider.System);
    }

    public async ValueTask InitializeAsync()
    {
        await CreateLocationAsync();
        Store = CreateStore();
        await Store.EnsureSchemaAsync();
        // Twice: start-up must be idempotent.
        await Store.EnsureSchemaAsync();
    }

    protected abstract Task CreateLocationAsync();

    protected abstract Task DropLocationAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var db in _databases) await db.DisposeAsync();
        await DropLocationAsync();
        GC.SuppressFinalize(this);
    }
}

public sealed class PostgresStoreFixture() : StoreFixture(SqlDialect.Postgres)
{
    protected override async Task CreateLocationAsync() => Location = await TestDatabases.CreatePostgresAsync();

    protected override Task DropLocationAsync() => TestDatabases.DropPostgresAsync(Location);
}

public sealed class SqliteStoreFixture() : StoreFixture(SqlDialect.Sqlite)
{
    protected override Task CreateLocationAsync()
    {
        Location = TestDatabases.NewSqliteFile();
        return Task.CompletedTask;
    }

    protected override Task DropLocationAsync()
    {
        TestDatabases.DeleteSqliteFile(Location);
        return Task.CompletedTask;
    }
}
