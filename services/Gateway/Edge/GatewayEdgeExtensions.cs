using Agents.Micro.Gateway.Tokens;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Gateway.Edge;
using Agents.Micro.ServiceDefaults.Errors;
using Agents.Micro.ServiceDefaults.Security;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Agents.Micro.Gateway;

/// <summary>
/// The public edge without the proxy: bearer tokens, per-user rate limits, body limits, CORS and security headers.
/// The gateway puts YARP behind it; the embedded one-process host puts every service's endpoints behind it.
/// </summary>
public static class GatewayEdgeExtensions
{
    /// <summary>The rate-limit policy name (YARP route <c>RateLimiterPolicy</c>; <see cref="RequireGatewayRateLimit{TBuilder}"/>).</summary>
    public const string RateLimitPolicy = UserRateLimiter.PolicyName;

    /// <summary>
    /// Bearer-token authentication against the token store (<c>Database:*</c>, bootstrap hashes in <c>Auth:Tokens</c>),
    /// the token table created at start-up, the per-user rate limiter (<c>RateLimit:*</c>), body limits (<c>Limits:*</c>),
    /// CORS (<c>Cors:AllowedOrigins</c>) and security headers (<c>SecurityHeaders:*</c>). Safe to call twice.
    /// </summary>
    public static IHostApplicationBuilder AddGatewayEdge(this IHostApplicationBuilder builder)
    {
        if (builder.Services.Any(d => d.ServiceType == typeof(EdgeMarker))) return builder;
        builder.Services.AddSingleton<EdgeMarker>();

        builder.AddBearerTokenAuth();
        builder.Services.AddOptions<AuthOptions>()
            .Validate(o => o.Tokens.All(t => t.Sha256.Length == 64 && t.Sha256.All(Uri.IsHexDigit)),
                "every Auth:Tokens entry needs Sha256: the 64 hex characters of the token's SHA-256")
            .Validate(o => o.Tokens.All(t => !string.IsNullOrWhiteSpace(t.UserId)), "every Auth:Tokens entry needs a UserId")
            .ValidateOnStart();
        builder.Services.AddSchemaInitializer<TokenStore>("token", (s, ct) => s.EnsureSchemaAsync(ct));

        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<SecurityHeadersOptions>().BindConfiguration(SecurityHeadersOptions.SectionName);
        builder.Services.AddOptions<EdgeCorsOptions>().BindConfiguration(EdgeCorsOptions.SectionName);
        builder.Services.AddRateLimiter(UserRateLimiter.Configure);
        // Long URLs are refused by the edge (Limits:MaxRequestTargetBytes) with the error body; Kestrel's own limit,
        // which answers with an empty 414, is raised above it.
        builder.Services.Configure<KestrelServerOptions>(k =>
        {
            k.Limits.MaxRequestLineSize = Math.Max(k.Limits.MaxRequestLineSize, LimitsOptions.ServerMaxRequestLineBytes);
            k.Limits.MaxRequestHeadersTotalSize = Math.Max(k.Limits.MaxRequestHeadersTotalSize, LimitsOptions.ServerMaxRequestLineBytes + 32 * 1024);
        });

        // Incoming trace context is not trusted unless configured (UntrustedTraceContext explains why).
        if (!builder.Configuration.GetValue<bool>("Telemetry:TrustIncomingTraceContext"))
        {
            builder.Services.AddSingleton<System.Diagnostics.DistributedContextPropagator>(
                new UntrustedTraceContext(System.Diagnostics.DistributedContextPropagator.CreateDefaultPropagator()));
            // OpenTelemetry's ASP.NET Core instrumentation extracts the incoming context again (and re-parents the
            // request's span) unless the SDK's propagator is the plain W3C one: make it that (no baggage is used here).
            OpenTelemetry.Sdk.SetDefaultTextMapPropagator(new OpenTelemetry.Context.Propagation.TraceContextPropagator());
        }

        builder.Services.AddCors();
        builder.Services.AddOptions<CorsOptions>().Configure<IOptions<EdgeCorsOptions>>((cors, edge) =>
        {
            var origins = edge.Value.AllowedOrigins.Where(o => !string.IsNullOrWhiteSpace(o)).ToArray();
            // No origins configured: a policy that allows none, so browsers get no CORS headers at all.
            cors.AddDefaultPolicy(p =>
            {
                if (origins.Length == 0) return;
                p.WithOrigins(origins).AllowAnyHeader().AllowAnyMethod()
                    .WithExposedHeaders("Retry-After", "Content-Disposition", "Location")
                    .SetPreflightMaxAge(TimeSpan.FromSeconds(edge.Value.PreflightMaxAgeSeconds));
            });
        });
        return builder;
    }

    /// <summary>
    /// The edge middleware, in the order it must run: error bodies and security headers around everything, body limits
    /// before anything reads a body, routing, CORS (preflights answered before authentication), authentication,
    /// authorization, then the rate limiter (so it can partition by the authenticated user). Call before mapping endpoints.
    /// </summary>
    public static WebApplication UseGatewayEdge(this WebApplication app)
    {
        if (!app.Configuration.GetValue<bool>("Telemetry:TrustIncomingTraceContext"))
            app.Use((ctx, next) => { UntrustedTraceContext.LinkClientContext(ctx); return next(ctx); });
        app.UseSecurityHeaders();
        app.UseApiErrors();
        app.UseRequestBodyLimits();
        app.UseRouting();
        app.UseCors();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>Puts endpoints (a route group, say) under the per-user rate limit, as the gateway's routes are.</summary>
    public static TBuilder RequireGatewayRateLimit<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireRateLimiting(RateLimitPolicy);

    private sealed class EdgeMarker;
}
