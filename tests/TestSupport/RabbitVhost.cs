using System.Diagnostics;

namespace Agents.Micro.TestSupport;

/// <summary>
/// A throwaway RabbitMQ virtual host on the shared broker (guest may use it), so that fixtures running at the same time
/// never share queues. Created with rabbitmqctl; deleted on dispose.
/// </summary>
public sealed class RabbitVhost : IAsyncDisposable
{
    public string Name { get; }

    private RabbitVhost(string name) => Name = name;

    public static async Task<RabbitVhost> CreateAsync(string prefix)
    {
        var vhost = new RabbitVhost($"{prefix}-{Guid.NewGuid().ToString("N")[..8]}");
        await RabbitmqctlAsync($"add_vhost {vhost.Name}");
        await RabbitmqctlAsync($"set_permissions -p {vhost.Name} guest .* .* .*");
        return vhost;
    }

    public async ValueTask DisposeAsync()
    {
        try { await RabbitmqctlAsync($"delete_vhost {Name}"); } catch (InvalidOperationException) { }
    }

    private static async Task RabbitmqctlAsync(string args)
    {
        var p = Process.Start(new ProcessStartInfo("rabbitmqctl", args) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException("rabbitmqctl not found — run scripts/test-infra.sh up");
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"rabbitmqctl {args}: {await p.StandardError.ReadToEndAsync()} — is RabbitMQ running? (scripts/test-infra.sh up)");
    }
}
