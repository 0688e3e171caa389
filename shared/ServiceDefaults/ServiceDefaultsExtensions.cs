using System.Text.Json;
using System.Text.Json.Serialization;
using Agents.Micro.ServiceDefaults.Errors;
using Agents.Micro.ServiceDefaults.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Agents.Micro.ServiceDefaults;

public static class ServiceDefaultsExtensions
{
    /// <summary>
    /// The builder of one service process. Its settings (appsettings.json) are read from the folder the service was
    /// installed in, wherever it is started from (<c>dotnet /opt/agents/Agents.Micro.Gateway.dll</c> works from any
    /// directory). It listens where the standard settings say (<c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>,
    /// <c>--urls</c>, or <c>Urls</c> in a settings file) and on <paramref name="defaultPort"/> when none is given.
    /// </summary>
    public static WebApplicationBuilder CreateServiceBuilder(string[] args, int defaultPort)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var config = builder.Configuration;
        if (string.IsNullOrWhiteSpace(config["urls"]) && string.IsNullOrWhiteSpace(config["http_ports"]) && string.IsNullOrWhiteSpace(config["https_ports"]))
            builder.WebHost.UseUrls($"http://0.0.0.0:{defaultPort}");
        builder.WebHost.HideServerHeader();
        return builder;
    }

    /// <summary>No <c>Server: Kestrel</c> in answers: it tells a prober what to aim at and a client nothing it needs.</summary>
    public static IWebHostBuilder HideServerHeader(this IWebHostBuilder web) =>
        web.ConfigureKestrel(o => o.AddServerHeader = false);

    /// <summary>
    /// What every service has: JSON console logs carrying trace and span ids, OpenTelemetry export, health checks,
    /// snake_case JSON, and the API error shape.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder, string serviceName)
    {
        builder.Logging.ClearProviders();
        if (string.Equals(builder.Configuration["Logging:Format"], "simple", StringComparison.OrdinalIgnoreCase))
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        else
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);

        builder.AddAgentsTelemetry(serviceName);
        builder.Services.AddHealthChecks();
        builder.Services.ConfigureHttpJsonOptions(o => ConfigureJson(o.SerializerOptions));
        return builder;
    }

    /// <summary>The JSON conventions of both public APIs: snake_case names, nulls written.</summary>
    public static void ConfigureJson(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        o.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
    }

    /// <summary>
    /// <c>/health/live</c> (the process answers) and <c>/health/ready</c> (its broker and database answer). On a
    /// <paramref name="publicEdge"/> (the gateway, the embedded host) anyone gets the status, and only admin tokens get the
    /// checks (their descriptions name the infrastructure); <c>Health:DetailsForLocalCallers=true</c> shows them to
    /// callers on the same machine too (off by default: a reverse proxy on that machine makes every caller local).
    /// Internal services are reachable only from inside the deployment, so every caller there is internal.
    /// </summary>
    public static IEndpointRouteBuilder MapDefaultEndpoints(this IEndpointRouteBuilder app, bool publicEdge = false)
    {
        var local = app.ServiceProvider.GetRequiredService<IConfiguration>().GetValue<bool>("Health:DetailsForLocalCallers");
        Task Write(HttpContext ctx, HealthReport report) => WriteHealth(ctx, report, !publicEdge || IsAdminOrLocal(ctx, local));
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = Write }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = r => r.Tags.Contains("ready"), ResponseWriter = Write }).AllowAnonymous();
        return app;
    }

    private static bool IsAdminOrLocal(HttpContext ctx, bool local) =>
        ctx.User.HasClaim(Security.CallerIdentity.AdminClaim, "true")
        || local && ctx.Connection.RemoteIpAddress is { } ip && System.Net.IPAddress.IsLoopback(ip);

    private static Task WriteHealth(HttpContext ctx, HealthReport report, bool details)
    {
        ctx.Response.ContentType = "application/json; charset=utf-8";
        if (!details) return ctx.Response.WriteAsJsonAsync(new { status = report.Status.ToString() });
        return ctx.Response.WriteAsJsonAsync(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        });
    }
}
