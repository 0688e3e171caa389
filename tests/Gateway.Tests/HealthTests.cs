using System.Net;
using System.Text.Json;
using static Agents.Micro.Gateway.Tests.Http;

namespace Agents.Micro.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class HealthTests(GatewayFixture fx)
{
    [Fact]
    public async Task Ready_ReportsADownedDestination_AndTheReadyOnes()
    {
        // The checks are for admins (anyone else gets the status only).
        var response = await fx.Client(await fx.NewTokenAsync("health-ops", admin: true)).GetAsync("/health/ready", Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var doc = JsonDocument.Parse(text);
        var checks = doc.RootElement.GetProperty("checks");
        Assert.Equal("Unhealthy", doc.RootElement.GetProperty("status").GetString());
        Assert.Equal("Unhealthy", checks.GetProperty("memory").GetProperty("status").GetString());
        Assert.Contains("memory service unavailable", checks.GetProperty("memory").GetProperty("description").GetString());
        Assert.Equal("Healthy", checks.GetProperty("taskapi").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("files").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("database").GetProperty("status").GetString());
        Assert.DoesNotContain("127.0.0.1", text);
    }

    [Fact]
    public async Task Ready_WhenEveryDestinationAnswers_IsHealthy()
    {
        var gateway = fx.Start(new Dictionary<string, string?>
        {
            ["ReverseProxy:Clusters:memory:Destinations:d1:Address"] = fx.Files.Url,
        });
        var response = await fx.Client(gateway: gateway).GetAsync("/health/ready", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Live_AnswersEvenWhenADestinationIsDown()
    {
        Assert.Equal(HttpStatusCode.OK, (await fx.Client().GetAsync("/health/live", Ct)).StatusCode);
    }
}
