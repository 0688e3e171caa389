using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace Agents.Micro.Gateway.Docs;

/// <summary>
/// Builds the merged document and keeps it for a while (<c>ApiDocs:CacheSeconds</c>; a document that misses a service
/// only <c>ApiDocs:IncompleteCacheSeconds</c>). One build at a time: concurrent readers wait for it instead of each
/// asking every service.
/// </summary>
public sealed class ApiDocsService(IApiDocumentSource source, IOptions<ApiDocsOptions> options, TimeProvider time)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    // A reference, swapped whole: readers outside the lock never see half of an entry (a nullable tuple could tear).
    private sealed record CacheEntry(byte[] Json, DateTimeOffset Until);
    private CacheEntry? _cached;

    public async Task<byte[]> GetJsonAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _cached) is { } hit && hit.Until > time.GetUtcNow()) return hit.Json;
        await _gate.WaitAsync(ct);
        try
        {
            if (Volatile.Read(ref _cached) is { } again && again.Until > time.GetUtcNow()) return again.Json;
            var parts = await source.GetPartsAsync(ct);
            var merged = OpenApiMerger.Merge(parts, GatewayPaths());
            var json = JsonSerializer.SerializeToUtf8Bytes(merged, new JsonSerializerOptions { WriteIndented = false });
            var complete = parts.All(p => p.Document is not null);
            var ttl = complete ? options.Value.CacheSeconds : options.Value.IncompleteCacheSeconds;
            Volatile.Write(ref _cached, new CacheEntry(json, time.GetUtcNow().AddSeconds(ttl)));
            return json;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The gateway's own public endpoints: health, this document and the docs page.</summary>
    public static JsonObject GatewayPaths()
    {
        static JsonObject Op(string id, string summary, JsonObject responses) => new()
        {
            ["tags"] = new JsonArray("gateway"),
            ["operationId"] = id,
            ["summary"] = summary,
            ["security"] = new JsonArray(),
            ["responses"] = responses,
        };
        static JsonObject Health() => new()
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["status"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("Healthy", "Degraded", "Unhealthy") },
                ["checks"] = new JsonObject
                {
                    ["type"] = "object",
                    ["additionalProperties"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject
                        {
                            ["status"] = new JsonObject { ["type"] = "string" },
                            ["description"] = new JsonObject { ["type"] = new JsonArray("string", "null") },
                        },
                    },
                },
            },
        };
        static JsonObject Json(string description, JsonObject schema) => new()
        {
            ["description"] = description,
            ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = schema } },
        };
        return new JsonObject
        {
            ["/health/live"] = new JsonObject
            {
                ["get"] = Op("GatewayLive", "the gateway process is up", new JsonObject { ["200"] = Json("alive", Health()) }),
            },
            ["/health/ready"] = new JsonObject
            {
                ["get"] = Op("GatewayReady", "ready when every service the gateway routes to is ready (one check per service)", new JsonObject
                {
                    ["200"] = Json("every service ready (or degraded: some destinations down)", Health()),
                    ["503"] = Json("a service is unavailable", Health()),
                }),
            },
            ["/openapi.json"] = new JsonObject
            {
                ["get"] = Op("GatewayOpenApi", "this document: every service's endpoints, merged", new JsonObject
                {
                    ["200"] = Json("OpenAPI document", new JsonObject { ["type"] = "object" }),
                }),
            },
            ["/docs"] = new JsonObject
            {
                ["get"] = Op("GatewayDocs", "a page that renders this document and can try requests with a token", new JsonObject
                {
                    ["200"] = new JsonObject
                    {
                        ["description"] = "HTML",
                        ["content"] = new JsonObject { ["text/html"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "string" } } },
                    },
                }),
            },
        };
    }
}
