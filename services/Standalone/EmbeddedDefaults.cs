using Microsoft.Extensions.Configuration.Memory;

namespace Agents.Micro.Standalone;

public static class EmbeddedDefaults
{
    /// <summary>
    /// Defaults for running everything in one process with no servers. They sit below every other configuration
    /// source, so <c>appsettings.json</c>, environment variables (<c>Database__Provider=postgres</c>…) and arguments override them.
    /// </summary>
    public static IHostApplicationBuilder AddEmbeddedDefaults(this IHostApplicationBuilder builder)
    {
        var data = Path.GetFullPath(Environment.GetEnvironmentVariable("AGENTS_DATA_DIR") ?? ".data");
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Urls"] = "http://localhost:8091",
                ["Logging:Format"] = "simple",
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:MassTransit"] = "Warning",
                ["Database:Provider"] = "sqlite",
                ["Database:ConnectionString"] = $"Data Source={Path.Combine(data, "agents.db")}",
                ["Messaging:Transport"] = "inmemory",
                ["FileStorage:Provider"] = "local",
                ["FileStorage:LocalRoot"] = Path.Combine(data, "files"),
                ["Standalone:DataDir"] = data,
            },
        });
        return builder;
    }
}
