using Agents.Micro.Gateway.Tokens;
using Agents.Micro.TestSupport;
using System.Net;
using System.Net.Http.Headers;
using Agents.Micro.ServiceDefaults;
using Agents.Micro.ServiceDefaults.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using static Agents.Micro.Gateway.Tests.Http;

namespace Agents.Micro.Gateway.Tests;

/// <summary>
/// The edge without YARP, as the one-process host composes it: endpoints mapped in the same app behind
/// <c>AddGatewayEdge</c>/<c>UseGatewayEdge</c>, authenticated by the bearer scheme directly.
/// </summary>
public sealed class EmbeddedEdgeTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gateway-embedded-" + Guid.NewGuid().ToString("N"));
    private WebApplication _app = null!;
    private Uri _address = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:Format"] = "simple",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Database:Provider"] = "sqlite",
            ["Database:ConnectionString"] = $"Data Source={Path.Combine(_dir, "agents.db")}",
            ["RateLimit:PermitsPerSecond"] = "1",
            ["RateLimit:Burst"] = "2",
            ["Limits:MaxJsonBytes"] = "1024",
        });
        builder.AddServiceDefaults("embedded-test");
        builder.AddGatewayEdge();
        builder.AddGatewayEdge(); // a second composer calling it again must not break anything

        _app = builder.Build();
        _app.UseGatewayEdge();
        _app.MapDefaultEndpoints();
        var api = _app.MapGroup("/api/v1").RequireGatewayRateLimit();
        api.MapPost("/echo", async (HttpContext ctx) =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync();
            return Results.Ok(new { user = ctx.Caller().UserId, bytes = body.Length });
        }).RequireAuthorization();
        await _app.StartAsync();
        _address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    [Fact]
    public async Task EdgeWithoutProxy_AuthenticatesLimitsAndAnswersInTheErrorShape()
    {
        var store = _app.Services.GetRequiredService<TokenStore>();
        var token = await store.CreateAsync("emma", "test", false, Ct);
        using var anonymous = new HttpClient { BaseAddress = _address };
        using var client = new HttpClient { BaseAddress = _address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        await AssertErrorAsync(await anonymous.PostAsync("/api/v1/echo", new StringContent("{}"), Ct), HttpStatusCode.Unauthorized);
        await AssertErrorAsync(await client.PostAsync("/api/v1/echo", new StringContent(new string('x', 2000)), Ct), HttpStatusCode.RequestEntityTooLarge);
        await AssertErrorAsync(await client.GetAsync("/api/v1/nope", Ct), HttpStatusCode.NotFound);

        var ok = await client.PostAsync("/api/v1/echo", new StringContent("{}"), Ct);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Contains("\"emma\"", await ok.Content.ReadAsStringAsync(Ct));
        Assert.Equal("nosniff", ok.Headers.GetValues("X-Content-Type-Options").Single());

        HttpResponseMessage last = ok;
        for (var i = 0; i < 5 && last.StatusCode != HttpStatusCode.TooManyRequests; i++)
            last = await client.PostAsync("/api/v1/echo", new StringContent("{}"), Ct);
        await AssertErrorAsync(last, HttpStatusCode.TooManyRequests);
        Assert.NotNull(last.Headers.RetryAfter);

        // Health stays outside the limit and anonymous.
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready", Ct)).StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        TestEnv.DeleteSqlite(_dir);
    }
}
