using System.Text.Json;
using System.Text.Json.Nodes;
using Agents.Micro.Gateway.Proxy;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy;

namespace Agents.Micro.Gateway.Docs;

/// <summary>
/// Asks each proxied cluster for its own document (<c>ApiDocs:ServiceDocumentPath</c>), trying its destinations in turn.
/// The services serve their documents without authentication, so no identity is sent. A service that does not answer
/// becomes a part with an error that names only the service, as the proxy's own 503s do.
/// </summary>
public sealed class ClusterApiDocumentSource(
    IProxyStateLookup proxy, IHttpClientFactory http, IOptions<ApiDocsOptions> options, ILogger<ClusterApiDocumentSource> log) : IApiDocumentSource
{
    public const string HttpClientName = "gateway-api-docs";

    public async Task<IReadOnlyList<ApiDocumentPart>> GetPartsAsync(CancellationToken ct)
    {
        var routes = proxy.GetRoutes()
            .Where(r => r.Config.ClusterId is not null && r.Config.Match.Path is not null)
            .GroupBy(r => r.Config.ClusterId!)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Select(r => r.Config.Match.Path!).ToList());
        var clusters = proxy.GetClusters().OrderBy(c => c.ClusterId, StringComparer.Ordinal).ToList();
        return await Task.WhenAll(clusters.Select(async c =>
        {
            var service = ServiceNames.Of(c.Model.Config, c.ClusterId);
            var clusterRoutes = routes.GetValueOrDefault(c.ClusterId) ?? [];
            foreach (var destination in c.Destinations.Values)
            {
                var doc = await FetchAsync(destination.Model.Config.Address, service, ct);
                if (doc is not null) return new ApiDocumentPart(c.ClusterId, service, doc, null, clusterRoutes);
            }
            return new ApiDocumentPart(c.ClusterId, service, null, $"{service} unavailable", clusterRoutes);
        }));
    }

    private async Task<JsonObject?> FetchAsync(string address, string service, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(options.Value.FetchTimeoutSeconds));
        try
        {
            var url = new Uri(new Uri(address.EndsWith('/') ? address : address + "/"), options.Value.ServiceDocumentPath.TrimStart('/'));
            using var response = await http.CreateClient(HttpClientName).GetAsync(url, cts.Token);
            if (!response.IsSuccessStatusCode)
            {
                log.LogWarning("OpenAPI document of {Service} answered HTTP {Status}", service, (int)response.StatusCode);
                return null;
            }
            return JsonNode.Parse(await response.Content.ReadAsStringAsync(cts.Token)) as JsonObject;
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            log.LogWarning("OpenAPI document of {Service} not available: {Reason}", service, ex.GetType().Name);
            return null;
        }
    }
}
