using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Agents.Micro.ServiceDefaults.Data;

public static class DatabaseExtensions
{
    /// <summary>Registers the configured <see cref="SqlDatabase"/> and a readiness check on it (once per host).</summary>
    public static IHostApplicationBuilder AddDatabase(this IHostApplicationBuilder builder)
    {
        if (builder.Services.Any(d => d.ServiceType == typeof(SqlDatabase))) return builder;
        builder.Services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton(sp => new SqlDatabase(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value));
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]);
        return builder;
    }
}
