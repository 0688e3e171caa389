using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.Gateway.Proxy;

/// <summary>Settings of the proxy beyond YARP's own <c>ReverseProxy</c> section.</summary>
public sealed class GatewayProxyOptions
{
    public const string SectionName = "Gateway";

    /// <summary>How long <c>/health/ready</c> waits for each destination's own readiness answer (seconds).</summary>
    [Range(0.1, 60)]
    public double DestinationHealthTimeoutSeconds { get; set; } = 2;
}
