using Yarp.ReverseProxy.Configuration;

namespace Agents.Micro.Gateway.Proxy;

/// <summary>What clients are told a cluster is called ("task service"), from the cluster's <c>ServiceName</c> metadata.</summary>
public static class ServiceNames
{
    public const string MetadataKey = "ServiceName";

    public static string Of(ClusterConfig? cluster, string? clusterId = null) =>
        cluster?.Metadata?.TryGetValue(MetadataKey, out var name) == true && !string.IsNullOrWhiteSpace(name)
            ? name
            : $"{cluster?.ClusterId ?? clusterId ?? "upstream"} service";
}
