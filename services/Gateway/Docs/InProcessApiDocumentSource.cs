using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Agents.Micro.Gateway.Docs;

/// <summary>
/// The embedded host: every service's endpoints live in this process, so the document is the one
/// <c>AddOpenApi()</c> generates here (document name <c>v1</c>). Without <c>AddOpenApi()</c> the part says so.
/// </summary>
public sealed class InProcessApiDocumentSource(IServiceProvider services) : IApiDocumentSource
{
    public const string DocumentName = "v1";

    public async Task<IReadOnlyList<ApiDocumentPart>> GetPartsAsync(CancellationToken ct)
    {
        var provider = services.GetKeyedService<IOpenApiDocumentProvider>(DocumentName);
        if (provider is null) return [new ApiDocumentPart("local", "api", null, "no OpenAPI document is generated in this host (AddOpenApi)")];
        var doc = await provider.GetOpenApiDocumentAsync(ct);
        var json = await doc.SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_1, ct);
        return [new ApiDocumentPart("local", "api", JsonNode.Parse(json) as JsonObject, null)];
    }
}
