using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

using Agents.Micro.ServiceDefaults.Security;

namespace Agents.Micro.Gateway.Tokens;

/// <summary>
/// Counts failed authentications per client address (System.Threading.RateLimiting, a fixed one-minute window per
/// address, IPv6 by its /64; idle partitions are dropped by the limiter itself). While an address is locked out, only
/// tokens that authenticated recently still pass (so one guesser behind a shared address — NAT, a load balancer —
/// does not lock out its neighbours); any other token is refused before it is looked at, so a guess learns nothing.
/// The address is the connection's: behind a proxy, every client shares the proxy's (README "Limits and fairness").
/// </summary>
public sealed class AuthFailureLimiter : IDisposable
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly PartitionedRateLimiter<string>? _limiter;

    public AuthFailureLimiter(IOptions<AuthOptions> options)
    {
        var limit = options.Value.FailedAttemptsPerMinute;
        if (limit <= 0) return;
        _limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = limit, Window = Window, QueueLimit = 0, AutoReplenishment = true }));
    }

    private static readonly TimeSpan GoodFor = TimeSpan.FromMinutes(10);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTime> _recentlyGood = new();

    public static string AddressOf(HttpContext ctx)
    {
        if (ctx.Connection.RemoteIpAddress is not { } ip) return "unknown";
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) return ip.ToString();
        var bytes = ip.GetAddressBytes();
        Array.Clear(bytes, 8, 8); // one IPv6 client usually has a whole /64
        return new System.Net.IPAddress(bytes) + "/64";
    }

    public bool IsLockedOut(string address) => _limiter?.GetStatistics(address) is { CurrentAvailablePermits: <= 0 };

    /// <summary>A token (by its hash) that authenticated within the last ten minutes.</summary>
    public bool WasRecentlyGood(string tokenHash) =>
        _recentlyGood.TryGetValue(tokenHash, out var until) && until > DateTime.UtcNow;

    public void RecordSuccess(string tokenHash)
    {
        if (_limiter is null) return;
        if (_recentlyGood.Count > 100_000)
            foreach (var (k, v) in _recentlyGood) if (v <= DateTime.UtcNow) _recentlyGood.TryRemove(k, out _);
        _recentlyGood[tokenHash] = DateTime.UtcNow + GoodFor;
    }

    public void RecordFailure(string address)
    {
        if (_limiter is null) return;
        using var _ = _limiter.AttemptAcquire(address);
    }

    public void Dispose() => _limiter?.Dispose();
}
