using Microsoft.Extensions.Options;

namespace Agents.Micro.Storage.Usage;

/// <summary>A token budget that is used up: which one, how far, and when it resets.</summary>
public sealed record BudgetExceeded(string Message, DateTimeOffset ResetsAt);

/// <summary>
/// Checks a user's token budgets against the usage store. Costs nothing for a user without one; with one, a sum over
/// the user's model calls of the day or month (indexed by user and time).
/// </summary>
public sealed class UsageBudget(UsageStore usage, IOptions<BudgetOptions> options, TimeProvider clock)
{
    public BudgetLimits For(string userId) => options.Value.For(userId);

    /// <summary>Where the budgets' periods began: the UTC day and the UTC calendar month of <paramref name="now"/>.</summary>
    public static (DateTimeOffset DayStart, DateTimeOffset MonthStart) Periods(DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        return (new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero));
    }

    /// <summary>
    /// The budget <paramref name="userId"/> has used up, counting <paramref name="pendingTokens"/> not yet written, or
    /// null. <paramref name="crossing"/>: for a running task, a budget is exceeded once usage goes past it; for a send,
    /// once usage reaches it (nothing is left to start with).
    /// </summary>
    public async Task<BudgetExceeded?> CheckAsync(string userId, long pendingTokens, bool crossing, CancellationToken ct)
    {
        var limits = For(userId);
        if (!limits.LimitsTokens) return null;
        var (day, month) = Periods(clock.GetUtcNow());
        foreach (var (limit, start, resets, name, period) in new[]
                 {
                     (limits.TokensPerDay, day, day.AddDays(1), "TokensPerDay", "today (UTC)"),
                     (limits.TokensPerMonth, month, month.AddMonths(1), "TokensPerMonth", "this month (UTC)"),
                 })
        {
            if (limit is not > 0) continue;
            var used = await usage.TokensSinceAsync(userId, start.ToUnixTimeMilliseconds() / 1000.0, ct) + pendingTokens;
            if (crossing ? used > limit : used >= limit)
                return new BudgetExceeded(
                    $"token budget exceeded: {used} of {limit} tokens used {period} (Budgets:{name}); it resets at {resets:yyyy-MM-dd'T'HH:mm:ss'Z'}",
                    resets);
        }
        return null;
    }
}
