using System.Net;
using static Agents.Micro.Gateway.Tests.Http;

namespace Agents.Micro.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class EdgeHeaderTests(GatewayFixture fx)
{
    [Theory]
    [InlineData("/api/v1/tasks/t1", true)]
    [InlineData("/api/v1/tasks/t1", false)]
    [InlineData("/nope", true)]
    [InlineData("/health/live", false)]
    public async Task SecurityHeaders_AreOnEveryResponse(string path, bool withToken)
    {
        var client = fx.Client(withToken ? await fx.NewTokenAsync("headers") : null);
        var response = await client.GetAsync(path, Ct);

        Assert.Equal("nosniff", Single(response, "X-Content-Type-Options"));
        Assert.Equal("DENY", Single(response, "X-Frame-Options"));
        Assert.Equal("no-referrer", Single(response, "Referrer-Policy"));
        var csp = Single(response, "Content-Security-Policy");
        Assert.Contains("default-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
    }

    [Fact]
    public async Task Preflight_FromAnAllowedOrigin_IsAnsweredWithoutAToken()
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/v1/messages");
        request.Headers.Add("Origin", GatewayFixture.AllowedOrigin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        var before = fx.TaskApi.Hits;

        var response = await fx.Client().SendAsync(request, Ct);

        Assert.True(response.IsSuccessStatusCode, $"preflight got {(int)response.StatusCode}");
        Assert.Equal(GatewayFixture.AllowedOrigin, Single(response, "Access-Control-Allow-Origin"));
        Assert.Contains("POST", Single(response, "Access-Control-Allow-Methods"));
        Assert.Equal(before, fx.TaskApi.Hits);
    }

    [Fact]
    public async Task CrossOriginRequest_FromAnAllowedOrigin_GetsCorsHeaders_AnotherOriginDoesNot()
    {
        var client = fx.Client(await fx.NewTokenAsync("browser"));
        var allowed = new HttpRequestMessage(HttpMethod.Get, "/api/v1/tasks/t1");
        allowed.Headers.Add("Origin", GatewayFixture.AllowedOrigin);
        var other = new HttpRequestMessage(HttpMethod.Get, "/api/v1/tasks/t1");
        other.Headers.Add("Origin", "https://evil.example");

        var a = await client.SendAsync(allowed, Ct);
        var o = await client.SendAsync(other, Ct);

        Assert.Equal(GatewayFixture.AllowedOrigin, Single(a, "Access-Control-Allow-Origin"));
        Assert.False(o.Headers.Contains("Access-Control-Allow-Origin"));
    }

    private static string Single(HttpResponseMessage response, string header) =>
        Assert.Single(response.Headers.TryGetValues(header, out var v) ? v : response.Content.Headers.TryGetValues(header, out var c) ? c : []);
}
