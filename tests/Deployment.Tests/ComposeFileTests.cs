namespace Agents.Micro.Deployment.Tests;

/// <summary>docker-compose.yml as `docker compose up` would read it (validated and interpolated by docker-compose config).</summary>
public sealed class ComposeFileTests
{
    private static readonly string[] Infrastructure = ["rabbitmq", "postgres", "minio", "jaeger"];

    [Fact]
    public void Config_WithRequiredSecretsSet_IsValidAndHasEveryServer()
    {
        var model = ComposeCli.Model;

        var missing = Infrastructure.Concat(ServiceCatalog.Services.Select(s => s.ComposeName)).Where(n => !model.Services.ContainsKey(n)).ToList();
        Assert.True(missing.Count == 0, $"docker-compose.yml lacks: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Config_WithoutInternalKey_IsRefusedNamingTheVariable()
    {
        var variables = ComposeCli.RequiredVariables.Where(v => v.Key != "AGENTS_INTERNAL_KEY").ToDictionary();

        var result = ComposeCli.Config(variables);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("AGENTS_INTERNAL_KEY", result.StdErr);
    }

    [Fact]
    public void AgentWorker_HasNoContainerNameOrHostPort_SoItCanBeScaled()
    {
        var worker = ComposeCli.Model.Service("agent-worker");

        Assert.Null(worker.ContainerName);
        Assert.Empty(worker.Ports);
    }

    [Fact]
    public void Gateway_IsPublishedOnHostPort8091_AndNoOtherServiceIsPublished()
    {
        var model = ComposeCli.Model;

        Assert.Contains(model.Service("gateway").Ports, p => p.Contains("published=8091") || p.StartsWith("8091:", StringComparison.Ordinal));
        foreach (var service in ServiceCatalog.Services.Where(s => s.ComposeName != "gateway"))
            Assert.True(model.Service(service.ComposeName).Ports.Count == 0,
                $"{service.ComposeName} publishes {string.Join(", ", model.Service(service.ComposeName).Ports)}: only the gateway is public");
    }

    [Fact]
    public void Gateway_RoutesEachClusterToTheServiceThatServesIt()
    {
        var env = ComposeCli.Model.Service("gateway").Environment;
        var expected = new Dictionary<string, ExpectedService>
        {
            ["taskapi"] = ServiceCatalog.Services.Single(s => s.Folder == "TaskApi"),
            ["files"] = ServiceCatalog.Services.Single(s => s.Folder == "FileService"),
            ["memory"] = ServiceCatalog.Services.Single(s => s.Folder == "MemoryService"),
        };

        foreach (var (cluster, service) in expected)
            Assert.Equal($"http://{service.ComposeName}:{service.Port}", env.GetValueOrDefault($"ReverseProxy__Clusters__{cluster}__Destinations__d1__Address"));
    }

    [Fact]
    public void EveryService_SharesTheInternalKey_AndNamesItselfToTelemetry()
    {
        var model = ComposeCli.Model;

        foreach (var service in ServiceCatalog.Services)
        {
            var env = model.Service(service.ComposeName).Environment;
            Assert.Equal(ComposeCli.RequiredVariables["AGENTS_INTERNAL_KEY"], env.GetValueOrDefault("Auth__InternalKey"));
            Assert.Equal(service.ComposeName, env.GetValueOrDefault("OTEL_SERVICE_NAME"));
            Assert.Equal("http://jaeger:4317", env.GetValueOrDefault("OTEL_EXPORTER_OTLP_ENDPOINT"));
        }
    }

    [Fact]
    public void ServicesWithStateOrMessages_UsePostgresAndRabbitMq_NotTheEmbeddedDefaults()
    {
        var model = ComposeCli.Model;

        foreach (var service in ServiceCatalog.Services)
        {
            var env = model.Service(service.ComposeName).Environment;
            if (service.Sections.Contains("Database"))
            {
                Assert.Equal("postgres", env.GetValueOrDefault("Database__Provider"));
                Assert.Contains("Host=postgres", env.GetValueOrDefault("Database__ConnectionString"));
            }
            if (service.Sections.Contains("Messaging"))
            {
                Assert.Equal("rabbitmq", env.GetValueOrDefault("Messaging__Transport"));
                Assert.Equal("rabbitmq", env.GetValueOrDefault("Messaging__RabbitMq__Host"));
            }
            if (service.Sections.Contains("FileStorage"))
            {
                Assert.Equal("s3", env.GetValueOrDefault("FileStorage__Provider"));
                Assert.Equal("http://minio:9000", env.GetValueOrDefault("FileStorage__S3__ServiceUrl"));
            }
        }
    }

    [Fact]
    public void EveryService_IsBuiltFromItsOwnDockerfile_WithTheRepositoryAsContext()
    {
        var model = ComposeCli.Model;

        foreach (var service in ServiceCatalog.Services)
        {
            var compose = model.Service(service.ComposeName);
            Assert.Equal(Path.TrimEndingDirectorySeparator(Repo.Root), Path.TrimEndingDirectorySeparator(Path.GetFullPath(compose.BuildContext ?? "", Repo.Root)));
            Assert.Equal(service.Dockerfile, compose.Dockerfile);
        }
    }
}
