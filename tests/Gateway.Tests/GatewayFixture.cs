using Agents.Micro.TestSupport;
using System.Net.Http.Headers;
using Agents.Micro.Gateway.Tokens;
using Agents.Micro.ServiceDefaults.Security;
using Microsoft.Extensions.Configuration;

namespace Agents.Micro.Gateway.Tests;

/// <summary>
/// One gateway over a throwaway SQLite token database, routing to stub task and file services; the memory
/// service's address has nothing listening (a downed service).
/// </summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public const string InternalKey = "gateway-tests-internal-key-0123456789abcdef";
    public const string BootstrapToken = "bootstrap-token-from-configuration-0001";
    public const string AllowedOrigin = "https://console.example";
    public const long MaxJsonBytes = 64 * 1024;
    public const long MaxUploadBytes = 1024 * 1024;
    public const long MultipartOverheadBytes = 4096;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gateway-tests-" + Guid.NewGuid().ToString("N"));
    private readonly List<GatewayFactory> _extra = [];

    public StubService TaskApi { get; private set; } = null!;
    public StubService Files { get; private set; } = null!;
    public string DeadMemoryAddress { get; } = StubService.DeadAddress();
    public string DatabasePath => Path.Combine(_dir, "tokens.db");
    public GatewayFactory Gateway { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        TaskApi = await StubService.StartAsync("taskapi", InternalKey);
        Files = await StubService.StartAsync("files", InternalKey);
        Gateway = Start(new Dictionary<string, string?>());
    }

    /// <summary>The gateway's settings: the same database and stubs, with <paramref name="overrides"/> on top.</summary>
    public Dictionary<string, string?> Settings(IReadOnlyDictionary<string, string?> overrides)
    {
        var s = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Logging:Format"] = "simple",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            ["Database:Provider"] = "sqlite",
            ["Database:ConnectionString"] = $"Data Source={DatabasePath}",
            ["Auth:InternalKey"] = InternalKey,
            ["Auth:TokenCacheSeconds"] = "1",
            ["Auth:Tokens:0:Sha256"] = TokenStore.Hash(BootstrapToken),
            ["Auth:Tokens:0:UserId"] = "boot",
            ["Limits:MaxJsonBytes"] = MaxJsonBytes.ToString(),
            ["Limits:MaxUploadBytes"] = MaxUploadBytes.ToString(),
            ["Limits:MultipartOverheadBytes"] = MultipartOverheadBytes.ToString(),
            ["Cors:AllowedOrigins:0"] = AllowedOrigin,
            ["Gateway:DestinationHealthTimeoutSeconds"] = "1",
            ["ReverseProxy:Clusters:taskapi:Destinations:d1:Address"] = TaskApi.Url,
            ["ReverseProxy:Clusters:files:Destinations:d1:Address"] = Files.Url,
            ["ReverseProxy:Clusters:memory:Destinations:d1:Address"] = DeadMemoryAddress,
        };
        foreach (var (k, v) in overrides) s[k] = v;
        return s;
    }

    /// <summary>Another gateway on the same database and stubs (disposed with the fixture).</summary>
    public GatewayFactory Start(IReadOnlyDictionary<string, string?> overrides)
    {
        var factory = new GatewayFactory(Settings(overrides));
        factory.StartServer();
        _extra.Add(factory);
        return factory;
    }

    public HttpClient Client(string? token = null, GatewayFactory? gateway = null)
    {
        var factory = gateway ?? Gateway;
        var client = factory.CreateClient(new() { AllowAutoRedirect = false, BaseAddress = factory.Address });
        if (token is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>Runs the token CLI in-process against the gateway's database: (exit code, stdout, stderr).</summary>
    public async Task<(int Exit, string Out, string Err)> CliAsync(params string[] args)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "sqlite",
            ["Database:ConnectionString"] = $"Data Source={DatabasePath}",
        }).Build();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await TokenCli.RunAsync(["tokens", .. args], config, stdout, stderr, TestContext.Current.CancellationToken);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A fresh token for <paramref name="user"/>, created with the CLI.</summary>
    public async Task<string> NewTokenAsync(string user, bool admin = false)
    {
        var (exit, stdout, stderr) = await CliAsync(admin ? ["create", "--user", user, "--admin"] : ["create", "--user", user]);
        Assert.True(exit == 0, stderr);
        return stdout.Trim();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var f in _extra) await f.DisposeAsync();
        await TaskApi.DisposeAsync();
        await Files.DisposeAsync();
        TestEnv.DeleteSqlite(_dir);
    }
}
