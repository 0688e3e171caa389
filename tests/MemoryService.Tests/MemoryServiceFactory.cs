using Agents.Micro.TestSupport;
using System.Net.Http.Headers;
using Agents.Micro.MemoryService.Options;
using Agents.Micro.ServiceDefaults.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Agents.Micro.MemoryService.Tests;

/// <summary>
/// The real MemoryService host (its Program.cs) on a temp SQLite file with MassTransit's in-memory transport.
/// Requests carry an identity signed with the internal key, as the gateway would send them.
/// </summary>
public sealed class MemoryServiceFactory : WebApplicationFactory<MemoryOptions>
{
    public const string InternalKey = "test-internal-key-0123456789-abcdefghijklmnop";
    private readonly string _dbFile = TestDatabases.NewSqliteFile();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Auth:InternalKey", InternalKey);
        builder.UseSetting("Database:Provider", "sqlite");
        builder.UseSetting("Database:ConnectionString", $"Data Source={_dbFile}");
        builder.UseSetting("Messaging:Transport", "inmemory");
        builder.UseSetting("Memory:MaxContentLength", "200");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
    }

    /// <summary>A client whose requests are signed as <paramref name="userId"/> (or unsigned when null).</summary>
    public HttpClient ClientFor(string? userId, bool admin = false)
    {
        var client = CreateClient();
        if (userId is not null) client.SignedAs(Services.GetRequiredService<InternalIdentity>(), userId, admin);
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        TestDatabases.DeleteSqliteFile(_dbFile);
    }
}
