using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Agents.Micro.ServiceDefaults.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>Activity sources besides the instrumentation packages': ours, MassTransit's and YARP's.</summary>
    public static readonly string[] Sources = [AgentsTelemetry.Name, AgentsTelemetry.Name + ".*", "MassTransit", "Yarp.ReverseProxy"];

    /// <summary>Meters besides the instrumentation packages': ours (Agents.Micro.TaskApi, …) and MassTransit's.</summary>
    public static readonly string[] Meters = [AgentsTelemetry.Name, AgentsTelemetry.Name + ".*", "MassTransit", "Microsoft.AspNetCore.Routing"];

    /// <summary>
    /// Traces, metrics and logs over OTLP with the OpenTelemetry SDK when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and
    /// nothing otherwise. The SDK reads the standard variables itself: <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> / <c>_HEADERS</c>,
    /// <c>OTEL_SERVICE_NAME</c>, <c>OTEL_RESOURCE_ATTRIBUTES</c>, <c>OTEL_TRACES_SAMPLER(_ARG)</c>,
    /// <c>OTEL_METRIC_EXPORT_INTERVAL</c>, <c>OTEL_BSP_*</c>, <c>OTEL_SDK_DISABLED</c>.
    /// Health probes produce no spans (their duration metrics still count), nor do database commands outside any span
    /// (background polls that find nothing to do); work a poll finds starts its own trace.
    /// </summary>
    public static IHostApplicationBuilder AddAgentsTelemetry(this IHostApplicationBuilder builder, string defaultServiceName)
    {
        var config = builder.Configuration;
        var options = config.GetSection(TelemetryOptions.SectionName).Get<TelemetryOptions>() ?? new TelemetryOptions();
        AgentsTelemetry.RecordContent = options.RecordContent;
        if (string.IsNullOrWhiteSpace(config["OTEL_EXPORTER_OTLP_ENDPOINT"])) return builder;

        builder.Logging.AddOpenTelemetry(o =>
        {
            o.IncludeFormattedMessage = true;
            o.IncludeScopes = true;
        });
        builder.Services.AddOpenTelemetry()
            // OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) wins over the built-in name. AddService is
            // applied after the SDK's environment detector and would override them, so it is given their value.
            .ConfigureResource(r => r.AddService(
                config["OTEL_SERVICE_NAME"] is { Length: > 0 } named ? named : ServiceNameIn(config["OTEL_RESOURCE_ATTRIBUTES"]) ?? defaultServiceName,
                serviceInstanceId: $"{Environment.MachineName}-{Environment.ProcessId}"))
            .WithTracing(tracing =>
            {
                tracing.AddSource(Sources)
                    .AddAspNetCoreInstrumentation(o =>
                    {
                        o.Filter = ctx => !IsHealthProbe(ctx.Request.Path);
                        // The query string is the one place a client might put a secret (?access_token=): never recorded.
                        o.EnrichWithHttpRequest = (activity, _) => activity.SetTag("url.query", null);
                    })
                    .AddHttpClientInstrumentation(o => o.FilterHttpRequestMessage = r => !IsHealthProbe(r.RequestUri?.AbsolutePath))
                    .AddNpgsql();
                // Telemetry:SamplingRatio for new traces unless OTEL_TRACES_SAMPLER chooses (the SDK reads it itself).
                // Parent-based either way: a trace is kept or dropped whole, as the gateway decided.
                if (string.IsNullOrEmpty(config["OTEL_TRACES_SAMPLER"]) && options.SamplingRatio < 1)
                    tracing.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(Math.Clamp(options.SamplingRatio, 0, 1))));
            })
            .WithMetrics(metrics => metrics
                .AddMeter(Meters)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation())
            .WithLogging()
            .UseOtlpExporter();
        return builder;
    }

    private static string? ServiceNameIn(string? resourceAttributes) =>
        resourceAttributes?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(kv => kv.Split('=', 2))
            .Where(kv => kv.Length == 2 && kv[0] == "service.name" && kv[1].Length > 0)
            .Select(kv => Uri.UnescapeDataString(kv[1]))
            .FirstOrDefault();

    /// <summary><c>/health/live</c>, <c>/health/ready</c>: probes every few seconds from Docker and the gateway.</summary>
    public static bool IsHealthProbe(PathString path) => path.StartsWithSegments("/health");

    private static bool IsHealthProbe(string? path) => path is not null && IsHealthProbe(new PathString(path));

    /// <summary>
    /// Npgsql traces a command only inside a span: the idle polls of background loops (sweeps, lease renewals, stream
    /// followers with nobody waiting) would otherwise each be a one-span trace, every second, burying real ones.
    /// </summary>
    public static bool TraceCommand() => Activity.Current is not null;
}
