using Microsoft.Extensions.Configuration;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Agents.Micro.ServiceDefaults.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>Activity sources emitted by the frameworks we use (no instrumentation packages needed).</summary>
    public static readonly string[] Sources = [AgentsTelemetry.Name, AgentsTelemetry.Name + ".*", "Microsoft.AspNetCore", "System.Net.Http", "MassTransit", "Npgsql", "Yarp.ReverseProxy"];

    public static readonly string[] Meters =
    [
        // Agents.Micro.* : each service's own meter (Agents.Micro.TaskApi, Agents.Micro.AgentWorker, ...).
        AgentsTelemetry.Name, AgentsTelemetry.Name + ".*", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Routing",
        "System.Net.Http", "MassTransit", "Npgsql", "System.Runtime",
    ];

    /// <summary>
    /// Traces and metrics over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (all standard <c>OTEL_*</c> variables
    /// apply, including <c>OTEL_SERVICE_NAME</c> and <c>OTEL_RESOURCE_ATTRIBUTES</c>); nothing is exported otherwise, or
    /// when <c>OTEL_SDK_DISABLED=true</c>. The exporter itself reads <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> (grpc, the default,
    /// or http/protobuf), <c>OTEL_EXPORTER_OTLP_HEADERS</c> and <c>OTEL_BSP_*</c> from the environment.
    /// </summary>
    public static IHostApplicationBuilder AddAgentsTelemetry(this IHostApplicationBuilder builder, string defaultServiceName)
    {
        var options = builder.Configuration.GetSection(TelemetryOptions.SectionName).Get<TelemetryOptions>() ?? new TelemetryOptions();
        AgentsTelemetry.RecordContent = options.RecordContent;
        var endpoint = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        if (string.IsNullOrWhiteSpace(endpoint) || string.Equals(builder.Configuration["OTEL_SDK_DISABLED"], "true", StringComparison.OrdinalIgnoreCase))
        {
            builder.Services.AddSingleton(new TelemetryProviders(null, null));
            return builder;
        }
        // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES, which wins over the built-in name.
        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"]
            ?? ServiceNameIn(builder.Configuration["OTEL_RESOURCE_ATTRIBUTES"])
            ?? defaultServiceName;
        var resource = ResourceBuilder.CreateDefault()
            .AddEnvironmentVariableDetector()
            .AddService(serviceName, serviceInstanceId: Environment.MachineName + "-" + Environment.ProcessId);
        var tracer = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(Sources)
            .SetSampler(TelemetrySampling.Create(builder.Configuration["OTEL_TRACES_SAMPLER"], builder.Configuration["OTEL_TRACES_SAMPLER_ARG"], options.SamplingRatio))
            .AddOtlpExporter()
            .Build();
        var meter = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(Meters)
            .AddOtlpExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds =
                int.TryParse(builder.Configuration["OTEL_METRIC_EXPORT_INTERVAL"], out var ms) ? ms : 15000)
            .Build();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, HttpServerSpans>());
        var providers = new TelemetryProviders(tracer, meter);
        builder.Services.AddSingleton(providers);
        builder.Services.AddHostedService(_ => providers);
        return builder;
    }

    private static string? ServiceNameIn(string? resourceAttributes) =>
        resourceAttributes?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(kv => kv.Split('=', 2))
            .Where(kv => kv.Length == 2 && kv[0] == "service.name" && kv[1].Length > 0)
            .Select(kv => Uri.UnescapeDataString(kv[1]))
            .FirstOrDefault();
}
