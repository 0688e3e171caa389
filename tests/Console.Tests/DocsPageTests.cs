using Microsoft.Playwright;

namespace Agents.Micro.Console.Tests;

/// <summary>
/// The API docs page (<c>/docs</c>, Scalar over the merged OpenAPI document) in a real browser: it renders the API, and
/// nothing it loads leaves the machine (no CDN, fonts, telemetry) or breaks the Content-Security-Policy.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class DocsPageTests(ConsoleHost host)
{
    [Fact]
    public async Task DocsPage_RendersTheApi_FromThisOriginOnly()
    {
        var context = await host.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = host.BaseUrl, ViewportSize = new() { Width = 1400, Height = 900 } });
        try
        {
            var page = await context.NewPageAsync();
            var requests = new List<string>();
            var problems = new List<string>();
            page.Request += (_, r) => { lock (requests) requests.Add(r.Url); };
            page.PageError += (_, e) => { lock (problems) problems.Add("page error: " + e); };
            page.Console += (_, m) =>
            {
                if (m.Type == "error") lock (problems) problems.Add("console: " + m.Text);
            };

            await page.GotoAsync("/docs");
            // The operations of every service are listed (the document loaded and rendered).
            await Assertions.Expect(page.GetByText("/api/v1/conversations").First).ToBeVisibleAsync(new() { Timeout = 30_000 });
            foreach (var tag in new[] { "v1 messages", "v1 tasks", "v1 files", "v1 memories", "agent" })
                await Assertions.Expect(page.GetByText(tag, new() { Exact = true }).First).ToBeVisibleAsync();
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ConsoleHost.ScreenshotDir, "docs.png") });

            var origin = new Uri(host.BaseUrl).GetLeftPart(UriPartial.Authority);
            List<string> seen;
            lock (requests) seen = requests.ToList();
            Assert.Contains(seen, r => r.EndsWith("/openapi.json", StringComparison.Ordinal));
            var foreign = seen.Where(r => !r.StartsWith(origin + "/", StringComparison.Ordinal) && !r.StartsWith("data:", StringComparison.Ordinal) && !r.StartsWith("blob:", StringComparison.Ordinal)).ToList();
            Assert.True(foreign.Count == 0, "requests that leave the machine: " + string.Join(", ", foreign));
            lock (problems) Assert.True(problems.Count == 0, string.Join("\n", problems));
        }
        finally
        {
            await context.CloseAsync();
        }
    }
}
