using System.Net.Http.Headers;
using System.Net.Http.Json;
using Agents.Micro.TestSupport;
using Microsoft.Playwright;

namespace Agents.Micro.Console.Tests;

/// <summary>
/// The embedded host as a process on a real port (a browser needs one) with its own data folder, and one headless
/// Debian Chromium driven by Playwright. Never downloads a browser: <c>/usr/bin/chromium</c> or <c>AGENTS_TEST_CHROMIUM</c>.
/// </summary>
public sealed class ConsoleHost : IAsyncLifetime
{
    /// <summary>Slow enough that "count to 3000" runs for half a minute, fast enough for short answers.</summary>
    public const int ChunkDelayMs = 10;

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "agents-console-" + Guid.NewGuid().ToString("N"));
    private ServiceProcess? _host;
    private IPlaywright? _playwright;

    public string BaseUrl => _host?.BaseUrl ?? throw new InvalidOperationException("not started");
    public string Token { get; private set; } = "";
    public IBrowser Browser { get; private set; } = null!;
    public HttpClient Api { get; private set; } = null!;

    public static string ChromiumPath => Environment.GetEnvironmentVariable("AGENTS_TEST_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    public static string ScreenshotDir
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("AGENTS_TEST_RESULTS") is { Length: > 0 } r ? r : Path.Combine(TestEnv.RepoRoot, "TestResults");
            var dir = Path.Combine(root, "screenshots");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: run scripts/test-infra.sh up (apt-get install chromium) or set AGENTS_TEST_CHROMIUM");
        Directory.CreateDirectory(_dataDir);
        _host = await ServiceProcess.StartAsync("Standalone", "Agents.Micro.Standalone", new Dictionary<string, string>
        {
            ["AGENTS_DATA_DIR"] = _dataDir,
            ["LocalModel__ChunkDelayMs"] = ChunkDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // A real MCP server (npm's server-everything over stdio) and one that is down, for the Tools tab and MCP tool calls.
            ["Mcp__Servers__everything__Command"] = "node",
            ["Mcp__Servers__everything__Arguments__0"] = McpTestServers.Everything,
            ["Mcp__Servers__everything__Arguments__1"] = "stdio",
            ["Mcp__Servers__down__Url"] = $"http://127.0.0.1:{TestEnv.FreePort()}/mcp",
            // Webhooks to the tests' local receiver, and a budget to show.
            ["Webhooks__AllowHttp"] = "true",
            ["Webhooks__AllowedNetworks__0"] = "127.0.0.0/8",
            ["Webhooks__SweepSeconds"] = "5",
            ["Budgets__Default__TokensPerMonth"] = "100000000",
        });
        Token = await TestEnv.DevTokenAsync(_dataDir);
        Api = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true });
    }

    /// <summary>A fresh browser profile (no token stored) with downloads allowed.</summary>
    public async Task<ConsolePage> OpenAsync(int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseUrl,
            ViewportSize = new ViewportSize { Width = width, Height = height },
            AcceptDownloads = true,
        });
        var page = await context.NewPageAsync();
        var cp = new ConsolePage(this, context, page);
        await page.GotoAsync("/");
        return cp;
    }

    /// <summary>Creates a memory for the test user through the public API.</summary>
    public async Task AddMemoryAsync(string content)
    {
        using var res = await Api.PostAsJsonAsync("/api/v1/memories", new { content });
        res.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        Api?.Dispose();
        if (_host is not null) await _host.DisposeAsync();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleHost>
{
    public const string Name = "console";
}
