using System.Net;
using System.Text.Json.Nodes;

namespace Agents.Micro.Integration.Tests;

/// <summary>The embedded host serves the same merged document and docs page, built from its own endpoints.</summary>
public sealed class EmbeddedDocsTests(EmbeddedApp app) : IClassFixture<EmbeddedApp>
{
    [Fact]
    public async Task OpenApiJson_InTheEmbeddedHost_DescribesEveryServiceAndIsValid()
    {
        using var http = app.CreateClient();
        var response = await http.GetAsync("/openapi.json", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!.AsObject();

        foreach (var path in new[] { "/api/v1/messages", "/agent/invoke", "/api/v1/files/upload", "/api/v1/memories/{memory_id}", "/agent/write/longterm", "/health/ready" })
            Assert.True(doc["paths"]![path] is not null, $"{path} missing");
        var problems = OpenApiChecks.Validate(doc);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.Contains("from", doc["paths"]!["/api/v1/tasks/{task_id}"]!["get"]!["parameters"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Docs_InTheEmbeddedHost_IsServedWithoutAToken()
    {
        using var http = app.CreateClient();
        var response = await http.GetAsync("/docs/", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("scalar.js", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/docs/scalar.js", TestContext.Current.CancellationToken)).StatusCode);
    }
}
