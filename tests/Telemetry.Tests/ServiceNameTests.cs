using Agents.Micro.ServiceDefaults.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Agents.Micro.Telemetry.Tests;

/// <summary>The name a service reports itself under: the operator's OTEL_SERVICE_NAME or service.name, else the built-in one.</summary>
public sealed class ServiceNameTests
{
    private static string? ServiceName(params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))
            .Append(KeyValuePair.Create("OTEL_EXPORTER_OTLP_ENDPOINT", (string?)"http://127.0.0.1:9")));
        builder.AddAgentsTelemetry("agent-worker");
        using var host = builder.Build();
        var resource = host.Services.GetRequiredService<TracerProvider>().GetResource();
        return resource.Attributes.FirstOrDefault(a => a.Key == "service.name").Value as string;
    }

    [Fact]
    public void OperatorsName_WinsOverTheBuiltInOne()
    {
        Assert.Equal("agent-worker", ServiceName());
        Assert.Equal("workers-eu", ServiceName(("OTEL_SERVICE_NAME", "workers-eu")));
        Assert.Equal("workers-us", ServiceName(("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=workers-us")));
        Assert.Equal("workers-eu", ServiceName(("OTEL_SERVICE_NAME", "workers-eu"), ("OTEL_RESOURCE_ATTRIBUTES", "service.name=workers-us")));
    }
}
