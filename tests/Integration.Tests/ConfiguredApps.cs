namespace Agents.Micro.Integration.Tests;

/// <summary>The embedded default with webhooks to local receivers (allowed by Webhooks:AllowedNetworks) and short retries.</summary>
public sealed class WebhookApp : EmbeddedApp
{
    /// <summary>What lets a webhook reach a receiver on this machine: plain HTTP and the loopback network.</summary>
    public static readonly (string, string)[] LocalReceivers =
        [("Webhooks:AllowHttp", "true"), ("Webhooks:AllowedNetworks:0", "127.0.0.0/8"), ("Webhooks:SweepSeconds", "5")];

    protected override IEnumerable<(string Key, string Value)> Settings =>
        [.. LocalReceivers, ("Webhooks:FirstRetrySeconds", "0.2"), ("Webhooks:TimeoutSeconds", "3")];
}

/// <summary>The embedded default as it ships: no private destinations, HTTPS only.</summary>
public sealed class DefaultWebhookApp : EmbeddedApp;

/// <summary>The embedded default with budgets for a few users (everyone else has none).</summary>
public sealed class BudgetApp : EmbeddedApp
{
    protected override IEnumerable<(string Key, string Value)> Settings =>
        [("Budgets:Users:budget-day:TokensPerDay", "1"), ("Budgets:Users:budget-month:TokensPerMonth", "1"), ("Budgets:Users:budget-conc:ConcurrentTasks", "1")];
}
