using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Agents.Micro.Storage.Usage;

public static class UsageExtensions
{
    /// <summary>
    /// The usage store and the budgets (section <c>Budgets</c>), for TaskApi (reports, sends) and the workers (running
    /// tasks). Safe to call from every service composed into one host: only the first call registers.
    /// </summary>
    public static IHostApplicationBuilder AddUsageBudgets(this IHostApplicationBuilder builder)
    {
        if (builder.Services.Any(d => d.ServiceType == typeof(UsageBudget))) return builder;
        builder.Services.AddOptions<BudgetOptions>().BindConfiguration(BudgetOptions.SectionName)
            .Validate(o => new[] { o.Default }.Concat(o.Users.Values).All(l => l.TokensPerDay is null or >= 0 && l.TokensPerMonth is null or >= 0 && l.ConcurrentTasks is null or >= 0),
                "Budgets: limits must be 0 (none) or positive")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<UsageStore>();
        builder.Services.AddSingleton<UsageBudget>();
        return builder;
    }
}
