using System.Globalization;
using System.Threading.RateLimiting;
using Agents.Micro.ServiceDefaults.Errors;
using Agents.Micro.ServiceDefaults.Security;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Agents.Micro.Gateway.Edge;

/// <summary>
/// One token bucket per authenticated user, so one busy client cannot starve the others. It runs after
/// authentication; a request without a user (only anonymous endpoints get here) is bucketed by client address.
/// </summary>
public static class UserRateLimiter
{
    /// <summary>The policy name routes refer to (YARP <c>RateLimiterPolicy</c>, or <c>RequireRateLimiting</c>).</summary>
    public const string PolicyName = "per-user";

    public static void Configure(RateLimiterOptions o)
    {
        o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        o.OnRejected = OnRejected;
        o.AddPolicy(PolicyName, Partition);
    }

    private static RateLimitPartition<string> Partition(HttpContext ctx)
    {
        var limits = ctx.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
        var key = CallerIdentity.From(ctx.User) is { } caller
            ? "user:" + caller.UserId
            : "ip:" + (ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = limits.Burst,
            TokensPerPeriod = limits.PermitsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static async ValueTask OnRejected(OnRejectedContext rejected, CancellationToken ct)
    {
        var ctx = rejected.HttpContext;
        var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
            ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
            : 1;
        ctx.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await ApiError.WriteAsync(ctx, StatusCodes.Status429TooManyRequests, $"too many requests: retry after {seconds} s");
    }
}
