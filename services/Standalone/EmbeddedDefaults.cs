using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;

namespace Agents.Micro.Standalone;

public static class EmbeddedDefaults
{
    /// <summary>
    /// Defaults for running everything in one process with no servers. They sit below every other configuration
    /// source, so <c>standalone.json</c>, environment variables (<c>Database__Provider=postgres</c>…) and arguments override them.
    /// </summary>
    public static IHostApplicationBuilder AddEmbeddedDefaults(this IHostApplicationBuilder builder)
    {
        // The referenced services' appsettings.json files land in this host's output folder (the last one copied wins):
        // none of them describes the embedded default, so the host reads only its own optional standalone.json.
        var services = builder.Configuration.Sources.OfType<JsonConfigurationSource>()
            .Where(j => j.Path?.StartsWith("appsettings", StringComparison.OrdinalIgnoreCase) == true).ToList();
        foreach (var source in services) builder.Configuration.Sources.Remove(source);
        builder.Configuration.AddJsonFile("standalone.json", optional: true, reloadOnChange: false);

        var data = Path.GetFullPath(Environment.GetEnvironmentVariable("AGENTS_DATA_DIR") ?? ".data");
        // The default address, unless ports are given the standard way (ASPNETCORE_HTTP_PORTS / HTTP_PORTS): ASP.NET Core
        // prefers any Urls over ports, so a default Urls here would silently override them.
        var portsGiven = !string.IsNullOrEmpty(builder.Configuration["HTTP_PORTS"]) || !string.IsNullOrEmpty(builder.Configuration["HTTPS_PORTS"]);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Urls"] = portsGiven ? null : "http://localhost:8091",
                ["Logging:Format"] = "simple",
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:MassTransit"] = "Warning",
                // The MCP SDK logs every server's stderr and a stack per failed connect; the worker logs one line each.
                ["Logging:LogLevel:ModelContextProtocol"] = "None",
                ["Database:Provider"] = "sqlite",
                ["Database:ConnectionString"] = $"Data Source={Path.Combine(data, "agents.db")}",
                ["Messaging:Transport"] = "inmemory",
                ["FileStorage:Provider"] = "local",
                ["FileStorage:LocalRoot"] = Path.Combine(data, "files"),
                ["Standalone:DataDir"] = data,
            },
        });
        OwnerOnly(builder.Configuration["Standalone:DataDir"] ?? data);
        return builder;
    }

    /// <summary>
    /// The data folder holds the database (tokens' hashes, every conversation) and users' files: on a shared machine
    /// nobody but its owner may read it. A folder it creates is 0700 (one that exists is left as its owner set it), and
    /// this process creates files 0600 (umask 077).
    /// </summary>
    private static void OwnerOnly(string dir)
    {
        if (OperatingSystem.IsWindows()) return;
        _ = Umask(0b000_111_111); // 077
        if (!Directory.Exists(dir))
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "umask")]
    private static extern uint Umask(uint mask);
}
