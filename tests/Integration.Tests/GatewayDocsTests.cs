using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Agents.Micro.Integration.Tests;

/// <summary>The gateway's one OpenAPI document and its docs page, over the real services.</summary>
[Collection(EdgeCollection.Name)]
public sealed partial class GatewayDocsTests(EdgeFixture edge)
{
    private static readonly string[] ExpectedOperations =
    [
        // TaskApi: v1
        "post /api/v1/conversations", "get /api/v1/conversations", "post /api/v1/messages", "get /api/v1/tasks/{task_id}",
        "post /api/v1/tasks/{task_id}/cancel", "post /api/v1/tasks/{task_id}/resume",
        // TaskApi: agent-service API
        "post /agent/invoke", "post /agent/resume", "get /agent/active/sessionid/{user_id}", "get /agent/sessionids/{user_id}",
        "get /agent/tasks/{user_id}/{session_id}", "get /agent/status/{user_id}/{session_id}/{task_id}",
        "delete /agent/session/{user_id}/{session_id}", "delete /agent/session/{user_id}/{session_id}/{task_id}", "get /system/info",
        // FileService
        "post /api/v1/files/upload", "get /api/v1/files", "get /api/v1/files/download", "delete /api/v1/files",
        // MemoryService
        "post /agent/write/longterm", "get /api/v1/memories", "post /api/v1/memories", "get /api/v1/memories/{memory_id}",
        "delete /api/v1/memories/{memory_id}",
        // the gateway itself
        "get /health/ready", "get /health/live",
    ];

    [Fact]
    public async Task OpenApiJson_WithoutToken_DescribesEveryServiceAndTheGateway()
    {
        using var http = edge.AnonymousClient();
        var response = await http.GetAsync("/openapi.json", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var doc = await MergedDocAsync(http, "/openapi.json");

        var operations = Operations(doc).Select(o => $"{o.Method} {o.Path}").ToHashSet();
        var missing = ExpectedOperations.Where(e => !operations.Contains(e)).ToList();
        Assert.True(missing.Count == 0, "missing from /openapi.json: " + string.Join(", ", missing));
        Assert.All((JsonArray)doc["x-agents-services"]!, s => Assert.True(s!["available"]!.GetValue<bool>(), s.ToJsonString()));
        // The services' own documents name their internal addresses as servers; the merged one must not.
        Assert.Null(doc["servers"]);
        Assert.DoesNotContain(edge.TaskApi.BaseUrl, doc.ToJsonString());
        Assert.DoesNotContain(edge.Files.BaseUrl, doc.ToJsonString());
    }

    [Fact]
    public async Task OpenApiJson_IsAValidOpenApi3Document_WhereEveryRefResolves()
    {
        using var http = edge.AnonymousClient();
        var doc = await MergedDocAsync(http, "/openapi.json");
        var problems = OpenApiChecks.Validate(doc);
        Assert.True(problems.Count == 0, "invalid OpenAPI document:\n" + string.Join("\n", problems));
    }

    [Fact]
    public async Task OpenApiJson_DeclaresTheBearerScheme_AndTheGatewayEndpointsArePublic()
    {
        using var http = edge.AnonymousClient();
        var doc = await MergedDocAsync(http, "/openapi.json");
        Assert.Equal("bearer", doc["components"]!["securitySchemes"]!["bearerAuth"]!["scheme"]!.GetValue<string>());
        Assert.Equal("bearerAuth", ((JsonObject)doc["security"]![0]!).Single().Key);
        Assert.Empty((JsonArray)doc["paths"]!["/health/ready"]!["get"]!["security"]!);
        Assert.NotNull(doc["paths"]!["/api/v1/files/upload"]!["post"]!["requestBody"]!["content"]!["multipart/form-data"]);
    }

    [Fact]
    public async Task OpenApiV1Json_AtTheGateway_IsTheMergedDocument()
    {
        using var http = edge.AnonymousClient();
        var doc = await MergedDocAsync(http, "/openapi/v1.json");
        Assert.NotNull(doc["paths"]!["/api/v1/memories"]);
        Assert.NotNull(doc["paths"]!["/api/v1/conversations"]);
    }

    [Fact]
    public async Task Docs_WithoutToken_IsHtmlThatLoadsOnlySameOriginAssets_AndNoncesItsInlineScript()
    {
        using var http = edge.AnonymousClient();
        var ct = TestContext.Current.CancellationToken;
        var response = await http.GetAsync("/docs/", ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        var html = await response.Content.ReadAsStringAsync(ct);

        var refs = AssetRef().Matches(html).Select(m => m.Groups["url"].Value).ToList();
        Assert.NotEmpty(refs);
        Assert.All(refs, r => Assert.False(r.Contains("//", StringComparison.Ordinal), $"not same-origin: {r}"));
        foreach (var r in refs)
        {
            var asset = await http.GetAsync(new Uri(new Uri(http.BaseAddress!, "/docs/"), r), ct);
            Assert.True(asset.StatusCode == HttpStatusCode.OK, $"{r}: {(int)asset.StatusCode}");
        }
        // The one inline script runs only because the policy names its nonce, which is new on every request.
        var nonces = ScriptNonce().Matches(html).Select(m => m.Groups["n"].Value).Distinct().ToList();
        var nonce = Assert.Single(nonces);
        Assert.Contains($"script-src 'self' 'nonce-{nonce}'", csp);
        Assert.DoesNotContain("unsafe-inline", csp.Split(';').Single(d => d.Trim().StartsWith("script-src", StringComparison.Ordinal)));
        var again = await (await http.GetAsync("/docs/", ct)).Content.ReadAsStringAsync(ct);
        Assert.DoesNotContain(nonce, again);
    }

    /// <summary>
    /// The merged document once every service is in it. A service builds its document on the first request, which can
    /// take longer than the gateway waits on a busy machine; the gateway then serves the rest and asks again seconds later.
    /// </summary>
    private static async Task<JsonObject> MergedDocAsync(HttpClient http, string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var doc = JsonNode.Parse(await http.GetStringAsync(path, TestContext.Current.CancellationToken))!.AsObject();
            var complete = ((JsonArray)doc["x-agents-services"]!).All(s => s!["available"]!.GetValue<bool>());
            if (complete || DateTime.UtcNow > deadline) return doc;
            await Task.Delay(1000, TestContext.Current.CancellationToken);
        }
    }

    internal static IEnumerable<(string Method, string Path, JsonObject Operation)> Operations(JsonObject doc)
    {
        foreach (var (path, item) in (JsonObject)doc["paths"]!)
            foreach (var (method, op) in (JsonObject)item!)
                if (op is JsonObject o && OpenApiChecks.Methods.Contains(method)) yield return (method, path, o);
    }

    [GeneratedRegex(@"(?:src|href)\s*=\s*""(?<url>[^""]+)""")]
    private static partial Regex AssetRef();

    [GeneratedRegex(@"<script[^>]*\bnonce=""(?<n>[^""]+)""")]
    private static partial Regex ScriptNonce();

}
