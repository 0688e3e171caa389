using System.Net;

namespace Agents.Micro.Console.Tests;

/// <summary>How the host serves the console: public, same-origin only, and without disturbing the API's 404s.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ServingTests(ConsoleHost host)
{
    [Fact]
    public async Task ConsolePage_IsPublic_WithSameOriginCspAndOnlyLocalAssets()
    {
        using var http = new HttpClient { BaseAddress = new Uri(host.BaseUrl) };
        using var res = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.Equal("text/html", res.Content.Headers.ContentType?.MediaType);
        var csp = string.Join(";", res.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp);
        var html = await res.Content.ReadAsStringAsync();
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        foreach (var asset in new[] { "/console/app.js", "/console/app.css" })
        {
            Assert.Contains(asset, html);
            using var a = await http.GetAsync(asset);
            Assert.Equal(HttpStatusCode.OK, a.StatusCode);
            Assert.DoesNotContain("https://", await a.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task ConsoleAsset_Revalidates_WithItsETag()
    {
        using var http = new HttpClient { BaseAddress = new Uri(host.BaseUrl) };
        using var first = await http.GetAsync("/console/app.js");
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);
        using var again = new HttpRequestMessage(HttpMethod.Get, "/console/app.js");
        again.Headers.IfNoneMatch.Add(etag);
        using var second = await http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
    }

    [Theory]
    [InlineData("/api/v1/no-such-route")]
    [InlineData("/console/no-such-file.js")]
    public async Task UnknownPaths_StillAnswerTheJson404Body(string path)
    {
        using var res = await host.Api.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, res.StatusCode);
        Assert.Equal("""{"success":false,"error":"not found"}""", await res.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ApiCalls_StillNeedTheToken()
    {
        using var http = new HttpClient { BaseAddress = new Uri(host.BaseUrl) };
        using var res = await http.GetAsync("/api/v1/conversations");
        Assert.Equal(HttpStatusCode.Unauthorized, res.StatusCode);
    }
}
