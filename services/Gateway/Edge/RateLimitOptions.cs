using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.Gateway.Edge;

/// <summary>Per-user request rate: a token bucket refilled every second.</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimit";

    /// <summary>Sustained requests per second per user.</summary>
    [Range(1, 1_000_000)]
    public int PermitsPerSecond { get; set; } = 50;

    /// <summary>Requests a user may send at once before the sustained rate applies.</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; set; } = 100;
}
