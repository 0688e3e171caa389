using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Agents.Micro.ServiceDefaults.Data;

/// <summary>
/// Creates a store's schema at start-up, waiting (bounded: 30 tries, 2 s apart) for a database that is still coming up.
/// </summary>
public sealed class SchemaInitializer<TStore>(TStore store, Func<TStore, CancellationToken, Task> ensure, string name, ILogger log)
    : IHostedService where TStore : notnull
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ensure(store, cancellationToken);
                return;
            }
            catch (Exception ex) when (attempt < 30 && !cancellationToken.IsCancellationRequested)
            {
                log.LogWarning("{Store} database not ready ({Error}); retrying", name, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class SchemaInitializerExtensions
{
    /// <summary>
    /// Registers one <see cref="SchemaInitializer{TStore}"/> per store type, however many composed services ask for it
    /// (the embedded host composes TaskApi and the worker, which share the task store).
    /// </summary>
    public static IServiceCollection AddSchemaInitializer<TStore>(this IServiceCollection services, string name,
        Func<TStore, CancellationToken, Task> ensure) where TStore : notnull
    {
        if (services.Any(d => d.ServiceType == typeof(Marker<TStore>))) return services;
        services.AddSingleton<Marker<TStore>>();
        services.AddHostedService(sp => new SchemaInitializer<TStore>(sp.GetRequiredService<TStore>(), ensure, name,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Agents.Micro.Schema")));
        return services;
    }

    private sealed class Marker<T>;
}
