namespace Agents.Micro.Gateway.Edge;

/// <summary>Browser origins allowed to call the API. Empty: no cross-origin access (same-origin console only).</summary>
public sealed class EdgeCorsOptions
{
    public const string SectionName = "Cors";

    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>How long a browser may cache a preflight answer (seconds).</summary>
    public int PreflightMaxAgeSeconds { get; set; } = 600;
}
