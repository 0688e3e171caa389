using System.Net.Http.Json;
using Agents.Micro.TestSupport;
using Microsoft.Playwright;

namespace Agents.Micro.Compose.Tests;

/// <summary>
/// The tracing dashboard of the deployment, in a real browser (Debian's Chromium driven by Playwright): a user who
/// sent a message finds its trace by the X-Trace-Id the 202 carried, sees the spans of every service it crossed, and
/// reads the task's logs under the same trace. Screenshots go to TestResults/…/Compose.Tests/.
/// </summary>
public sealed class DashboardTests
{
    private static string ChromiumPath => Environment.GetEnvironmentVariable("AGENTS_TEST_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    [Fact]
    public async Task AMessagesTrace_ShowsEveryServiceItCrossed_AndTheTasksLogs()
    {
        await Deployment.WaitHealthyAsync();
        using var http = Deployment.Client();
        using var sent = await http.PostAsJsonAsync("/api/v1/messages", new { message = "hello, dashboard" });
        Assert.Equal(202, (int)sent.StatusCode);
        var traceId = Assert.Single(sent.Headers.GetValues("X-Trace-Id"));
        var taskId = System.Text.Json.JsonDocument.Parse(await sent.Content.ReadAsStringAsync()).RootElement.GetProperty("task_id").GetString()!;
        Assert.Equal("completed", (await TaskPolling.PollAsync(http, taskId)).Status);

        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing (apt-get install chromium)");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Deployment.Dashboard, ViewportSize = new() { Width = 1600, Height = 1000 } });
        var page = await context.NewPageAsync();

        // The UI is protected: without the browser token it asks for one.
        await page.GotoAsync("/traces");
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/login"));
        await page.GotoAsync($"/login?t={Deployment.DashboardToken}");
        await Assertions.Expect(page).Not.ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/login"));

        // Telemetry is exported in batches: reload the trace until the spans of all four services are there.
        string[] services = ["gateway", "task-api", "agent-worker", "memory-service"];
        var missing = services.ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            await page.GotoAsync($"/traces/detail/{traceId}");
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            var text = await page.Locator("body").InnerTextAsync();
            missing = services.Where(s => !text.Contains(s, StringComparison.Ordinal)).ToList();
            if (missing.Count == 0 && text.Contains("task.run", StringComparison.Ordinal)) break;
            if (DateTime.UtcNow > deadline)
            {
                await Screenshot(page, "dashboard-trace-incomplete");
                Assert.Fail($"trace {traceId} in the dashboard lacks spans of: {string.Join(", ", missing)} (or task.run)\n{text[..Math.Min(text.Length, 3000)]}");
            }
            await Task.Delay(2000);
        }
        await Screenshot(page, "dashboard-trace");

        // No noise around it: the containers' health probes (every 10 s each) and the services' idle database polls
        // make no traces, so the traces list holds what users did.
        await page.GotoAsync("/traces");
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await Screenshot(page, "dashboard-traces");
        var list = await page.Locator("body").InnerTextAsync();
        Assert.Contains("POST /api/v1/messages", list);
        foreach (var noise in new[] { "/health", ": postgresql", ": CONNECT" })
            Assert.False(list.Contains(noise, StringComparison.Ordinal),
                $"the traces list shows '{noise}' traces:\n{string.Join("\n", list.Split('\n').Where(l => l.Contains(noise, StringComparison.Ordinal)).Take(20))}");

        // The task's structured logs, found by the same trace id.
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            await page.GotoAsync($"/structuredlogs?traceId={traceId}");
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            var text = await page.Locator("body").InnerTextAsync();
            if (text.Contains($"task {taskId} attempt 1 started", StringComparison.Ordinal)
                && text.Contains($"task {taskId} attempt 1 ended: completed", StringComparison.Ordinal)) break;
            if (DateTime.UtcNow > deadline)
            {
                await Screenshot(page, "dashboard-logs-incomplete");
                Assert.Fail($"the dashboard's structured logs for trace {traceId} lack the task's lines\n{text[..Math.Min(text.Length, 3000)]}");
            }
            await Task.Delay(2000);
        }
        await Screenshot(page, "dashboard-logs");

        // Metrics arrive too: the workers' own meter is listed for the agent-worker resource.
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            await page.GotoAsync("/metrics/resource/agent-worker");
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            var text = await page.Locator("body").InnerTextAsync();
            if (text.Contains("agents.tasks.finished", StringComparison.Ordinal)) break;
            if (DateTime.UtcNow > deadline)
            {
                await Screenshot(page, "dashboard-metrics-incomplete");
                Assert.Fail($"the dashboard shows no agents.tasks.finished metric for agent-worker\n{text[..Math.Min(text.Length, 3000)]}");
            }
            await Task.Delay(3000);
        }
        await page.Locator("fluent-tree-item[title='agents.tasks.finished']").First.ClickAsync();
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await Screenshot(page, "dashboard-metrics");
    }

    private static Task Screenshot(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Deployment.Artifacts, name + ".png"), FullPage = false });
}
