using System.Net;
using static Agents.Micro.Gateway.Tests.Http;

namespace Agents.Micro.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class LimitTests(GatewayFixture fx)
{
    [Fact]
    public async Task BurstPastTheRateLimit_Returns429WithRetryAfter_WhileAnotherUserIsUnaffected()
    {
        var gateway = fx.Start(new Dictionary<string, string?> { ["RateLimit:PermitsPerSecond"] = "1", ["RateLimit:Burst"] = "3" });
        var greedy = fx.Client(await fx.NewTokenAsync("greedy"), gateway);
        var polite = fx.Client(await fx.NewTokenAsync("polite"), gateway);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 10; i++) responses.Add(await greedy.GetAsync("/api/v1/tasks/t1", Ct));
        var elapsed = clock.Elapsed;

        // A burst of 3, then 1 more per elapsed second: everything beyond that must have been refused.
        var allowed = 3 + (int)Math.Ceiling(elapsed.TotalSeconds);
        var passed = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        var limited = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.True(passed >= 3 && passed <= allowed, $"{passed} of 10 passed in {elapsed}");
        Assert.Equal(10, passed + limited.Count);
        Assert.NotEmpty(limited);
        var rejected = limited[0];
        await AssertErrorAsync(rejected, HttpStatusCode.TooManyRequests);
        var retryAfter = rejected.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));

        Assert.Equal(HttpStatusCode.OK, (await polite.GetAsync("/api/v1/tasks/t1", Ct)).StatusCode);
    }

    [Fact]
    public async Task JsonBodyOverTheLimit_Returns413ErrorBody_AndIsNotForwarded()
    {
        var client = fx.Client(await fx.NewTokenAsync("big-json"));
        var before = fx.TaskApi.Hits;
        var body = "{\"message\":\"" + new string('x', (int)GatewayFixture.MaxJsonBytes) + "\"}";
        var response = await client.PostAsync("/api/v1/messages", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Ct);
        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(before, fx.TaskApi.Hits);
    }

    [Fact]
    public async Task JsonBodyUnderTheLimit_IsForwardedWhole()
    {
        var client = fx.Client(await fx.NewTokenAsync("small-json"));
        var body = new string('x', (int)GatewayFixture.MaxJsonBytes - 100);
        var echo = await EchoAsync(await client.PostAsync("/api/v1/messages", new StringContent(body), Ct));
        Assert.Equal(body.Length, echo.BodyBytes);
    }

    [Fact]
    public async Task Upload_LargerThanTheJsonLimit_IsForwarded()
    {
        var client = fx.Client(await fx.NewTokenAsync("uploader"));
        var bytes = new byte[GatewayFixture.MaxUploadBytes];
        using var form = new MultipartFormDataContent { { new ByteArrayContent(bytes), "file", "big.bin" } };
        var echo = await EchoAsync(await client.PostAsync("/api/v1/files/upload", form, Ct));
        Assert.Equal("files", echo.Service);
        Assert.True(echo.BodyBytes > GatewayFixture.MaxUploadBytes);
    }

    [Fact]
    public async Task Upload_OverTheUploadLimit_Returns413ErrorBody()
    {
        var client = fx.Client(await fx.NewTokenAsync("huge-uploader"));
        var bytes = new byte[GatewayFixture.MaxUploadBytes + GatewayFixture.MultipartOverheadBytes + 1];
        var response = await client.PostAsync("/api/v1/files/upload", new ByteArrayContent(bytes), Ct);
        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task ChunkedBodyOverTheLimit_Returns413ErrorBody()
    {
        var client = fx.Client(await fx.NewTokenAsync("chunky"));
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages")
        {
            Content = new StreamContent(new MemoryStream(new byte[GatewayFixture.MaxJsonBytes * 2])),
        };
        request.Headers.TransferEncodingChunked = true;
        var response = await client.SendAsync(request, Ct);
        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task UrlPastTheLimit_Returns414InTheErrorShape_NotTheServersBareOne()
    {
        var client = fx.Client(await fx.NewTokenAsync("long-url"));
        var hits = fx.TaskApi.Hits;

        // 20 KiB: past the gateway's 8 KiB limit and past Kestrel's default request line (which answers without a body).
        var response = await client.GetAsync("/api/v1/tasks/t1?x=" + new string('a', 20 * 1024), Ct);

        await AssertErrorAsync(response, HttpStatusCode.RequestUriTooLong);
        Assert.Equal(hits, fx.TaskApi.Hits);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/tasks/t1?x=" + new string('a', 4 * 1024), Ct)).StatusCode);
    }
}
