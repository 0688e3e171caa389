using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Agents.Micro.ServiceDefaults.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>Activity sources emitted by the frameworks we use (no instrumentation packages needed).</summary>
    public static readonly string[] Sources = [AgentsTelemetry.Name, "Microsoft.AspNetCore", "System.Net.Http", "MassTransit", "Npgsql", "Yarp.ReverseProxy"];

    public static readonly string[] Meters =
    [
        AgentsTelemetry.Name, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Routing",
        "System.Net.Http", "MassTransit", "Npgsql", "System.Runtime",
    ];

    /// <summary>
    /// Traces and metrics over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (all standard <c>OTEL_*</c> variables
    /// apply, including <c>OTEL_SERVICE_NAME</c> and <c>OTEL_RESOURCE_ATTRIBUTES</c>); nothing is exported otherwise.
    /// </summary>
    public static IHostApplicationBuilder AddAgentsTelemetry(this IHostApplicationBuilder builder, string defaultServiceName)
    {
        var options = builder.Configuration.GetSection(TelemetryOptions.SectionName).Get<TelemetryOptions>() ?? new TelemetryOptions();
        AgentsTelemetry.RecordContent = options.RecordContent;
        var endpoint = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            builder.Services.AddSingleton(new TelemetryProviders(null, null));
            return builder;
        }
        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"] ?? defaultServiceName;
        var resource = ResourceBuilder.CreateDefault().AddService(serviceName, serviceInstanceId: Environment.MachineName + "-" + Environment.ProcessId);
        var ratio = Math.Clamp(options.SamplingRatio, 0, 1);
        var tracer = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(Sources)
            .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio)))
            .AddOtlpExporter()
            .Build();
        var meter = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(Meters)
            .AddOtlpExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds =
                int.TryParse(builder.Configuration["OTEL_METRIC_EXPORT_INTERVAL"], out var ms) ? ms : 15000)
            .Build();
        var providers = new TelemetryProviders(tracer, meter);
        builder.Services.AddSingleton(providers);
        builder.Services.AddHostedService(_ => providers);
        return builder;
    }
}
