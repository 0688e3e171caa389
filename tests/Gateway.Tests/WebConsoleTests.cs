using System.Net;
using static Agents.Micro.Gateway.Tests.Http;

namespace Agents.Micro.Gateway.Tests;

/// <summary>The gateway serves the web console itself (no service behind it), without a token.</summary>
[Collection(GatewayCollection.Name)]
public sealed class WebConsoleTests(GatewayFixture fx)
{
    [Theory]
    [InlineData("/", "text/html")]
    [InlineData("/console/app.js", "text/javascript")]
    [InlineData("/console/app.css", "text/css")]
    public async Task ConsoleFiles_AreServedWithoutAToken(string path, string mediaType)
    {
        var before = fx.TaskApi.Hits;
        var response = await fx.Client().GetAsync(path, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self'", string.Join(";", response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal(before, fx.TaskApi.Hits);
    }

    [Theory]
    [InlineData("/console/missing.js")]
    [InlineData("/not-an-api-route")]
    public async Task UnknownPaths_KeepTheJson404(string path)
    {
        var response = await fx.Client(await fx.NewTokenAsync("console-404")).GetAsync(path, Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("""{"success":false,"error":"not found"}""", await response.Content.ReadAsStringAsync(Ct));
    }
}
