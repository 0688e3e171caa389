using System.Net;
using System.Text.Json.Nodes;
using Agents.Micro.Gateway.Docs;
using static Agents.Micro.Gateway.Tests.Http;

namespace Agents.Micro.Gateway.Tests;

/// <summary>The merged OpenAPI document when a service is down, and the merge rules themselves.</summary>
[Collection(GatewayCollection.Name)]
public sealed class ApiDocsTests(GatewayFixture fx)
{
    [Fact]
    public async Task OpenApiJson_WithAServiceDown_IsServedAndNamesTheMissingService()
    {
        var response = await fx.Client().GetAsync("/openapi.json", Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = JsonNode.Parse(text)!.AsObject();
        var memory = ((JsonArray)doc["x-agents-services"]!).Single(s => s!["name"]!.GetValue<string>() == "memory service")!;
        Assert.False(memory["available"]!.GetValue<bool>());
        Assert.Contains("memory service unavailable", doc["info"]!["description"]!.GetValue<string>());
        Assert.NotNull(doc["paths"]!["/health/ready"]);
        Assert.DoesNotContain(fx.DeadMemoryAddress, text);
    }

    [Fact]
    public async Task Docs_NeedNoToken_EvenWhereEveryOtherRouteDoes()
    {
        using var client = fx.Client();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/docs/", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/docs/scalar.js", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/openapi.json", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/conversations", Ct)).StatusCode);
    }

    [Fact]
    public void Merge_AComponentTwoServicesDefineDifferently_IsRenamedWithItsRefs()
    {
        var tasks = Doc("/api/v1/tasks/{id}", "Item", new JsonObject { ["type"] = "string" });
        var files = Doc("/api/v1/files", "Item", new JsonObject { ["type"] = "integer" });

        var merged = OpenApiMerger.Merge(
            [new ApiDocumentPart("taskapi", "task service", tasks, null, ["/api/v1/tasks/{**rest}"]),
             new ApiDocumentPart("files", "file service", files, null, ["/api/v1/files/{**rest}"])], new JsonObject());

        var schemas = (JsonObject)merged["components"]!["schemas"]!;
        Assert.Equal("string", schemas["Item"]!["type"]!.GetValue<string>());
        Assert.Equal("integer", schemas["FilesItem"]!["type"]!.GetValue<string>());
        Assert.Equal("#/components/schemas/FilesItem", Ref(merged, "/api/v1/files"));
        Assert.Equal("#/components/schemas/Item", Ref(merged, "/api/v1/tasks/{id}"));
    }

    [Fact]
    public void Merge_APathNoGatewayRouteLeadsTo_IsLeftOut()
    {
        var tasks = Doc("/api/v1/tasks/{id}", "Item", new JsonObject { ["type"] = "string" });
        tasks["paths"]!.AsObject()["/internal/debug"] = new JsonObject { ["get"] = new JsonObject { ["responses"] = new JsonObject() } };

        var merged = OpenApiMerger.Merge([new ApiDocumentPart("taskapi", "task service", tasks, null, ["/api/v1/tasks/{**rest}"])], new JsonObject());

        Assert.NotNull(merged["paths"]!["/api/v1/tasks/{id}"]);
        Assert.Null(merged["paths"]!["/internal/debug"]);
    }

    private static string? Ref(JsonObject doc, string path) =>
        doc["paths"]![path]!["get"]!["responses"]!["200"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>();

    private static JsonObject Doc(string path, string schemaName, JsonObject schema) => new()
    {
        ["openapi"] = "3.1.1",
        ["servers"] = new JsonArray(new JsonObject { ["url"] = "http://10.0.0.5:8081" }),
        ["paths"] = new JsonObject
        {
            [path] = new JsonObject
            {
                ["get"] = new JsonObject
                {
                    ["responses"] = new JsonObject
                    {
                        ["200"] = new JsonObject
                        {
                            ["description"] = "ok",
                            ["content"] = new JsonObject
                            {
                                ["application/json"] = new JsonObject { ["schema"] = new JsonObject { ["$ref"] = $"#/components/schemas/{schemaName}" } },
                            },
                        },
                    },
                },
            },
        },
        ["components"] = new JsonObject { ["schemas"] = new JsonObject { [schemaName] = schema } },
    };
}
