using DotNet.Testcontainers.Configurations;
using Testcontainers.RabbitMq;

namespace Agents.Micro.Durability.Tests;

/// <summary>
/// A RabbitMQ broker of these tests' own, in a container (Testcontainers.RabbitMq on the image docker-compose uses,
/// <c>rabbitmq:3-management</c>; built locally by scripts/standins.sh where it cannot be pulled), so that they can stop,
/// start and pause the broker without touching the shared one. Its host port is fixed for its lifetime, so the
/// services find it again after a restart, and its data lives in the container, so durable queues survive a stop.
/// A missing Docker engine fails these tests: scripts/test.sh installs and starts one.
/// </summary>
public sealed class BrokerContainer : IAsyncDisposable
{
    public const string Image = "rabbitmq:3-management";
    private readonly RabbitMqContainer _container;

    private BrokerContainer(int port)
    {
        Port = port;
        _container = new RabbitMqBuilder()
            .WithImage(Image)
            .WithUsername("guest")
            .WithPassword("guest")
            .WithPortBinding(port, RabbitMqBuilder.RabbitMqPort)
            .WithCleanUp(true)
            .Build();
    }

    public int Port { get; }

    public static async Task<BrokerContainer> CreateAsync()
    {
        // The resource reaper's image cannot be pulled here: the fixture removes its container itself.
        TestcontainersSettings.ResourceReaperEnabled = false;
        var broker = new BrokerContainer(Agents.Micro.TestSupport.TestEnv.FreePort());
        try
        {
            await broker._container.StartAsync();
        }
        catch (Exception ex)
        {
            await broker.DisposeAsync();
            throw new InvalidOperationException(
                $"could not start a RabbitMQ container ({Image}): {ex.Message} — scripts/test.sh starts Docker and builds the image; run it, or scripts/standins.sh", ex);
        }
        return broker;
    }

    /// <summary>A clean stop (docker stop): the broker closes every connection and exits; its data stays.</summary>
    public Task StopAsync() => _container.StopAsync();

    /// <summary>Starts the stopped broker again on the same port, and waits until it accepts connections.</summary>
    public Task StartAsync() => _container.StartAsync();

    /// <summary>A partition as the services see it (docker pause): the connections stay open and nothing answers.</summary>
    /// <remarks>Testcontainers 3.10 has no pause (4.x does, but needs a newer Docker API): the docker CLI does it.</remarks>
    public Task PauseAsync() => DockerAsync("pause", _container.Id);

    public Task UnpauseAsync() => DockerAsync("unpause", _container.Id);

    private static async Task DockerAsync(params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("docker") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"docker {string.Join(' ', args)}: {err}");
    }

    public bool IsRunning => _container.State == DotNet.Testcontainers.Containers.TestcontainersStates.Running;

    public async ValueTask DisposeAsync()
    {
        // Without the resource reaper Testcontainers 3.10 stops the container but leaves it behind: remove it here.
        var id = _container.Id;
        await _container.DisposeAsync();
        if (!string.IsNullOrEmpty(id))
            try { await DockerAsync("rm", "-f", "-v", id); } catch (InvalidOperationException) { }
    }
}
