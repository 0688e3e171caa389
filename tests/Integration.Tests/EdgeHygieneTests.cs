using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Agents.Micro.Integration.Tests;

/// <summary>
/// The distributed gateway as a stranger meets it. Its own processes: the lockout test leaves this machine's address
/// locked out of that gateway for a minute.
/// </summary>
public sealed class EdgeHygieneTests(OneWorkerFixture fx) : IClassFixture<OneWorkerFixture>
{
    [Fact]
    public async Task Answers_CarryNoServerHeader()
    {
        using var http = await fx.GatewayClientAsync("plain");
        foreach (var path in new[] { "/health/live", "/api/v1/conversations", "/api/v1/files", "/no-such-path" })
        {
            using var r = await http.GetAsync(path);
            Assert.False(r.Headers.Contains("Server"), $"{path}: Server: {string.Join(",", r.Headers.TryGetValues("Server", out var v) ? v : [])}");
        }
    }

    [Fact]
    public async Task FailedAuthentications_AreLimitedPerAddress_ThenOnlyRecentlyUsedTokensPass()
    {
        using var good = await fx.GatewayClientAsync("lockout-victim");
        Assert.Equal(HttpStatusCode.OK, (await good.GetAsync("/api/v1/conversations")).StatusCode);
        using var guesser = new HttpClient { BaseAddress = new Uri(fx.Gateway.BaseUrl) };

        // Auth:FailedAttemptsPerMinute (default 30) wrong tokens are answered 401, each one counted.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 31; i++)
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, "/api/v1/conversations");
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "guess-" + i);
            using var r = await guesser.SendAsync(req);
            statuses.Add(r.StatusCode);
            if (r.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal(TimeSpan.FromSeconds(60), r.Headers.RetryAfter?.Delta);
                using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
                Assert.False(doc.RootElement.GetProperty("success").GetBoolean());
                Assert.Contains("too many failed authentications", doc.RootElement.GetProperty("error").GetString());
            }
        }
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 30).Append(HttpStatusCode.TooManyRequests), statuses);
        // Locked out means a token not seen lately is not even looked at: a right one cannot be told from a wrong one
        // for that minute. A token that authenticated lately (a neighbour behind the same address) still works.
        using var newcomer = await fx.GatewayClientAsync("lockout-newcomer");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await newcomer.GetAsync("/api/v1/conversations")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await good.GetAsync("/api/v1/conversations")).StatusCode);
        // Requests without a token are not affected (health probes, the console's sign-in page).
        Assert.Equal(HttpStatusCode.OK, (await guesser.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task LongUrls_GetTheErrorShapeUpToTheServersOwnLimit_WhereTheReadmeSaysItTakesOver()
    {
        using var http = new HttpClient { BaseAddress = new Uri(fx.Gateway.BaseUrl) };
        // From Limits:MaxRequestTargetBytes (8 KiB) up to the server's request-line limit (64 KiB): the edge's 414.
        foreach (var size in new[] { 9_000, 30_000, 64 * 1024 - 2_048 })
        {
            using var r = await http.GetAsync("/api/v1/tasks/t1?x=" + new string('a', size));
            Assert.Equal(HttpStatusCode.RequestUriTooLong, r.StatusCode);
            using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            Assert.Contains("request URL too long", doc.RootElement.GetProperty("error").GetString());
        }
        // Past 64 KiB the server (Kestrel) refuses the request line before any of our code runs: 414 with no body, as
        // the README says. It is still a 414, never a 500 or a dropped connection.
        using var beyond = await http.GetAsync("/api/v1/tasks/t1?x=" + new string('a', 70_000));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, beyond.StatusCode);
    }
}
