namespace Agents.Micro.Deployment.Tests;

/// <summary>A service as docker-compose.yml should run it.</summary>
/// <param name="ComposeName">Its name in docker-compose.yml (also its host name on the compose network).</param>
/// <param name="Folder">services/&lt;Folder&gt;/&lt;Folder&gt;.csproj, built into Agents.Micro.&lt;Folder&gt;.dll.</param>
/// <param name="Port">The port it listens on.</param>
/// <param name="Sections">The configuration sections it reads, and so the only ones compose may set for it.</param>
internal sealed record ExpectedService(string ComposeName, string Folder, int Port, string[] Sections)
{
    public string ProjectFile => $"services/{Folder}/{Folder}.csproj";
    public string AssemblyName => $"Agents.Micro.{Folder}";
}

/// <summary>
/// What the deployment must look like, written out explicitly so that a typo in docker-compose.yml (a misspelt
/// section, a service given settings it never reads) fails a test instead of being silently ignored at run time.
/// </summary>
internal static class ServiceCatalog
{
    public static readonly ExpectedService[] Services =
    [
        new("gateway", "Gateway", 8091, ["Auth", "Database", "ReverseProxy"]),
        new("task-api", "TaskApi", 8081, ["Auth", "Database", "Messaging", "FileStorage"]),
        new("agent-worker", "AgentWorker", 8082, ["Auth", "Database", "Messaging", "FileStorage", "Mcp"]),
        new("file-service", "FileService", 8083, ["Auth", "FileStorage"]),
        new("memory-service", "MemoryService", 8084, ["Auth", "Database", "Messaging"]),
    ];

    /// <summary>Standard variables read by the OpenTelemetry SDK, ServiceDefaults and ASP.NET Core themselves.</summary>
    public static readonly HashSet<string> StandardVariables = new(StringComparer.Ordinal)
    {
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES", "OTEL_METRIC_EXPORT_INTERVAL", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
        "ASPNETCORE_ENVIRONMENT", "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "DOTNET_ENVIRONMENT",
    };

    public static ExpectedService ByFolder(string folder) => Services.Single(s => s.Folder == folder);

    public static IEnumerable<string> AllFolders() => Services.Select(s => s.Folder);

    /// <summary>Fails clearly when a service's project has not been written yet.</summary>
    public static void AssertProjectExists(ExpectedService service) =>
        Assert.True(Repo.Exists(service.ProjectFile),
            $"{service.ProjectFile} does not exist, yet docker-compose.yml builds the '{service.ComposeName}' service from it");
}
