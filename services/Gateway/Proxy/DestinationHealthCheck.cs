using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy;

namespace Agents.Micro.Gateway.Proxy;

/// <summary>
/// Ready while at least one destination of the cluster answers its own <c>/health/ready</c> in time.
/// Descriptions name the service and a reason class only: the endpoint is public.
/// </summary>
public sealed class DestinationHealthCheck(
    string clusterId, IProxyStateLookup proxy, IHttpClientFactory http, IOptions<GatewayProxyOptions> options) : IHealthCheck
{
    public const string HttpClientName = "gateway-destination-health";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!proxy.TryGetCluster(clusterId, out var cluster))
            return HealthCheckResult.Unhealthy($"{clusterId}: no such cluster");
        var service = ServiceNames.Of(cluster.Model.Config, clusterId);
        var destinations = cluster.Destinations.Values
            .Select(d => d.Model.Config.Health is { Length: > 0 } h ? h : d.Model.Config.Address)
            .ToList();
        if (destinations.Count == 0) return HealthCheckResult.Unhealthy($"{service}: no destinations configured");

        var results = await Task.WhenAll(destinations.Select(d => ProbeAsync(d, cancellationToken)));
        var ready = results.Count(r => r is null);
        if (ready == results.Length) return HealthCheckResult.Healthy($"{service} ready");
        var reason = results.First(r => r is not null);
        var summary = $"{service} unavailable ({ready}/{results.Length} destinations ready; {reason})";
        return ready > 0 ? HealthCheckResult.Degraded(summary) : HealthCheckResult.Unhealthy(summary);
    }

    /// <summary>Null when ready, else a short reason.</summary>
    private async Task<string?> ProbeAsync(string baseAddress, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(options.Value.DestinationHealthTimeoutSeconds));
        try
        {
            var url = new Uri(new Uri(baseAddress.EndsWith('/') ? baseAddress : baseAddress + "/"), "health/ready");
            using var response = await http.CreateClient(HttpClientName).GetAsync(url, cts.Token);
            return response.IsSuccessStatusCode ? null : $"not ready: HTTP {(int)response.StatusCode}";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return "no answer in time";
        }
        catch (HttpRequestException)
        {
            return "connection failed";
        }
    }
}
