using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Agents.Micro.ServiceDefaults.Security;

/// <summary>
/// Counts failed authentications per client address (System.Threading.RateLimiting, a fixed one-minute window per
/// address; idle partitions are dropped by the limiter itself). An address that used up its failures is refused before
/// its token is even looked at, so a valid token cannot be told from a wrong one while it is locked out.
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

    public static string AddressOf(HttpContext ctx) => ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    public bool IsLockedOut(string address) => _limiter?.GetStatistics(address) is { CurrentAvailablePermits: <= 0 };

    public void RecordFailure(string address)
    {
        if (_limiter is null) return;
        using var _ = _limiter.AttemptAcquire(address);
    }

    public void Dispose() => _limiter?.Dispose();
}
