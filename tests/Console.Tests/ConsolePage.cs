using Microsoft.Playwright;

namespace Agents.Micro.Console.Tests;

/// <summary>One browser tab on the console, with the steps a user takes and what the page reported along the way.</summary>
public sealed class ConsolePage(ConsoleHost host, IBrowserContext context, IPage page) : IAsyncDisposable
{
    private readonly List<string> _problems = Track(page);

    public IPage Page => page;

    /// <summary>Uncaught script errors and Content-Security-Policy violations seen so far (the console must cause none).</summary>
    public IReadOnlyList<string> Problems => _problems;

    private static List<string> Track(IPage page)
    {
        var problems = new List<string>();
        page.PageError += (_, e) => { lock (problems) problems.Add("page error: " + e); };
        page.Console += (_, m) =>
        {
            if (m.Type == "error" && m.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
                lock (problems) problems.Add("CSP: " + m.Text);
        };
        return problems;
    }

    public async Task SignInAsync(string? token = null)
    {
        await page.Locator("#token-input").FillAsync(token ?? host.Token);
        await page.Locator("#signin-button").ClickAsync();
    }

    public async Task SignedInAsync()
    {
        await SignInAsync();
        await Assertions.Expect(page.Locator("#app")).ToBeVisibleAsync();
    }

    /// <summary>Sends a message from the composer and returns the locator of its turn (the newest one).</summary>
    public async Task<ILocator> SendAsync(string message)
    {
        var before = await page.Locator(".turn").CountAsync();
        await page.Locator("#message-input").FillAsync(message);
        await page.Locator("#send").ClickAsync();
        var turn = page.Locator(".turn").Nth(before);
        await Assertions.Expect(turn.Locator(".bubble.user")).ToHaveTextAsync(message);
        return turn;
    }

    public Task ScreenshotAsync(string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ConsoleHost.ScreenshotDir, name + ".png"), FullPage = false });

    public async ValueTask DisposeAsync() => await context.CloseAsync();
}
