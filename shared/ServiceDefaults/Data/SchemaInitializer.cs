using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Agents.Micro.ServiceDefaults.Data;

/// <summary>
/// Creates a store's schema at start-up, waiting (bounded: 30 tries, 2 s apart) for a database that is still coming up.
/// A database that answers but cannot hold the system's data (see <see cref="SqlDatabase.FindProblemAsync"/>) stops the
/// service at once with the reason, instead of starting healthy and failing every task later.
/// </summary>
public sealed class SchemaInitializer<TStore>(TStore store, Func<TStore, CancellationToken, Task> ensure, string name, ILogger log, SqlDatabase? db = null)
    : IHostedService where TStore : notnull
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (db is not null && await db.FindProblemAsync(cancellationToken) is { } problem)
                {
                    log.LogCritical("{Store} database cannot be used: {Problem}", name, problem);
                    throw new DatabaseUnusableException(problem);
                }
                await ensure(store, cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is not DatabaseUnusableException && attempt < 30 && !cancellationToken.IsCancellationRequested)
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
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Agents.Micro.Schema"), sp.GetService<SqlDatabase>()));
        return services;
    }

    private sealed class Marker<T>;
}

/// <summary>The database answers but cannot hold this system's data; the message says why and how to fix it.</summary>
public sealed class DatabaseUnusableException(string message) : Exception(message);
