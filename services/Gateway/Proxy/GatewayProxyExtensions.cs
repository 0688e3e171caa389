using Agents.Micro.Gateway.Proxy;
using Agents.Micro.ServiceDefaults.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Agents.Micro.Gateway;

/// <summary>The proxy half of the gateway: YARP routes and clusters from the <c>ReverseProxy</c> configuration section.</summary>
public static class GatewayProxyExtensions
{
    public const string ConfigSection = "ReverseProxy";

    /// <summary>
    /// YARP from configuration, the identity transform on every route (signs with <c>Auth:InternalKey</c>), and one
    /// readiness check per cluster that asks its destinations' <c>/health/ready</c>. Needs <see cref="GatewayEdgeExtensions.AddGatewayEdge"/>.
    /// </summary>
    public static IHostApplicationBuilder AddGatewayProxy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName)
            .Validate(o => o.InternalKey.Length >= 32, "Auth:InternalKey must be set to a secret of at least 32 characters (the same on every service)")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(sp => new InternalIdentity(sp.GetRequiredService<IOptions<AuthOptions>>().Value.InternalKey));
        builder.Services.AddOptions<GatewayProxyOptions>().BindConfiguration(GatewayProxyOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection(ConfigSection))
            .AddTransforms<IdentityTransformProvider>()
            .AddTransforms<ErrorBodyTransformProvider>();

        builder.Services.AddHttpClient(DestinationHealthCheck.HttpClientName);
        // Registered when options are built, not now, so clusters added by later configuration sources count too.
        builder.Services.AddOptions<HealthCheckServiceOptions>().Configure<IConfiguration>((health, config) =>
        {
            foreach (var cluster in config.GetSection($"{ConfigSection}:Clusters").GetChildren())
            {
                var id = cluster.Key;
                health.Registrations.Add(new HealthCheckRegistration(
                    id, sp => ActivatorUtilities.CreateInstance<DestinationHealthCheck>(sp, id), HealthStatus.Unhealthy, ["ready"]));
            }
        });
        return builder;
    }

    /// <summary>Maps the configured routes, with failures of a destination answered in the API's error shape.</summary>
    public static IEndpointRouteBuilder MapGatewayProxy(this IEndpointRouteBuilder app)
    {
        app.MapReverseProxy(proxy =>
        {
            proxy.UseForwarderErrors();
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });
        return app;
    }
}
