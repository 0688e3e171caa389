using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.Storage.Usage;

/// <summary>
/// Per-user budgets (section <c>Budgets</c>; README "Usage and budgets"), read by TaskApi (a send beyond one is a 429)
/// and by the workers (a running task that crosses one fails saying so). <c>Default</c> applies to every user;
/// <c>Users:{user_id}</c> overrides it field by field. Unset or 0: no limit.
/// </summary>
public sealed class BudgetOptions
{
    public const string SectionName = "Budgets";

    public BudgetLimits Default { get; set; } = new();

    public Dictionary<string, BudgetLimits> Users { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The limits that apply to <paramref name="userId"/>.</summary>
    public BudgetLimits For(string userId) => Users.TryGetValue(userId, out var own)
        ? new BudgetLimits
        {
            TokensPerDay = own.TokensPerDay ?? Default.TokensPerDay,
            TokensPerMonth = own.TokensPerMonth ?? Default.TokensPerMonth,
            ConcurrentTasks = own.ConcurrentTasks ?? Default.ConcurrentTasks,
        }
        : Default;
}

public sealed class BudgetLimits
{
    /// <summary>Model tokens (input + output) per UTC day.</summary>
    [Range(0, long.MaxValue)]
    public long? TokensPerDay { get; set; }

    /// <summary>Model tokens (input + output) per UTC calendar month.</summary>
    [Range(0, long.MaxValue)]
    public long? TokensPerMonth { get; set; }

    /// <summary>Tasks queued, running or waiting for approval at once (lower than <c>Tasks:MaxActivePerUser</c> to matter).</summary>
    [Range(0, 1_000_000)]
    public int? ConcurrentTasks { get; set; }

    public bool LimitsTokens => TokensPerDay > 0 || TokensPerMonth > 0;
}
