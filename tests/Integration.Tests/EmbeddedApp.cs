using Agents.Micro.Gateway.Tokens;
using System.Net.Http.Headers;
using Agents.Micro.ServiceDefaults.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Agents.Micro.Integration.Tests;

/// <summary>The embedded default (all services in one process, SQLite, in-memory bus) in a test host with its own data folder.</summary>
public class EmbeddedApp : WebApplicationFactory<Agents.Micro.Standalone.DevTokenBootstrap>, IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("agents-embedded-").FullName;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Database:ConnectionString", $"Data Source={Path.Combine(_dir, "agents.db")}");
        builder.UseSetting("FileStorage:LocalRoot", Path.Combine(_dir, "files"));
        builder.UseSetting("Standalone:DataDir", _dir);
        builder.UseSetting("LocalModel:ChunkDelayMs", "5");
        builder.UseSetting("Worker:RecallTimeoutMs", "300");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        // A vision model, for sending images (never actually reached: the tests only look at what happens at send time).
        builder.UseSetting("Models:Items:vision:Provider", "openai");
        builder.UseSetting("Models:Items:vision:Endpoint", "http://127.0.0.1:9/v1");
        builder.UseSetting("Models:Items:vision:Model", "vision-test");
        builder.UseSetting("Models:Items:vision:Vision", "true");
        builder.UseSetting("Models:Items:vision:MaxRetries", "0");
        foreach (var (key, value) in Settings) builder.UseSetting(key, value);
    }

    /// <summary>Settings a fixture adds on top (limits set low enough to reach in a test, say).</summary>
    protected virtual IEnumerable<(string Key, string Value)> Settings => [];

    public virtual async ValueTask InitializeAsync() => await Task.Run(() => Server);

    /// <summary>A client authenticated as <paramref name="user"/> with a freshly created token.</summary>
    public async Task<HttpClient> ClientForAsync(string user, bool admin = false)
    {
        var token = await Services.GetRequiredService<TokenStore>().CreateAsync(user, "test", admin);
        var c = CreateClient();
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
