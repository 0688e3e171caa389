using Agents.Micro.Gateway.Docs;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Scalar.AspNetCore;
using Yarp.ReverseProxy;

namespace Agents.Micro.Gateway;

/// <summary>
/// One OpenAPI document for the whole public API (<c>/openapi.json</c>) and a page that renders it (<c>/docs</c>),
/// both public. Behind the proxy the document merges what each service serves at <c>ApiDocs:ServiceDocumentPath</c>;
/// in a host without the proxy (the embedded one) it is the document this process generates with <c>AddOpenApi()</c>.
/// </summary>
public static class GatewayDocsExtensions
{
    public const string DocumentPath = "/openapi.json";
    public const string DocsPath = "/docs";

    /// <summary>Options <c>ApiDocs:*</c>. Which source is used is decided when it is first needed: the proxy's clusters when YARP is registered.</summary>
    public static IHostApplicationBuilder AddGatewayDocs(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiDocsOptions>().BindConfiguration(ApiDocsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHttpClient(ClusterApiDocumentSource.HttpClientName);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<IApiDocumentSource>(sp => sp.GetService<IProxyStateLookup>() is not null
            ? ActivatorUtilities.CreateInstance<ClusterApiDocumentSource>(sp)
            : ActivatorUtilities.CreateInstance<InProcessApiDocumentSource>(sp));
        builder.Services.TryAddSingleton<ApiDocsService>();
        return builder;
    }

    /// <summary>
    /// Maps the merged document at <c>/openapi.json</c> (and at any <paramref name="alsoAt"/>) and the docs page at
    /// <c>/docs</c>, all without a token.
    /// </summary>
    public static IEndpointRouteBuilder MapGatewayDocs(this IEndpointRouteBuilder app, params string[] alsoAt)
    {
        foreach (var path in alsoAt.Prepend(DocumentPath).Distinct())
            app.MapGet(path, async (HttpContext ctx, ApiDocsService docs, CancellationToken ct) =>
            {
                var json = await docs.GetJsonAsync(ct);
                ctx.Response.Headers.CacheControl = "no-cache";
                return Results.Bytes(json, "application/json; charset=utf-8");
            }).AllowAnonymous().ExcludeFromDescription();

        // Scalar's page, served with its script from the package: no CDN, no fonts, no telemetry, no AI agent; its one
        // inline script carries a per-request nonce that the Content-Security-Policy names (see SecurityHeaders).
        app.MapScalarApiReference(DocsPath, options => options
                .WithTitle("Agents.Micro API")
                .WithOpenApiRoutePattern(DocumentPath)
                .DisableDefaultFonts()
                .DisableTelemetry()
                .DisableAgent()
                .DisableMcp()
                .HideDeveloperTools()
                .WithNonce())
            .AllowAnonymous().ExcludeFromDescription();
        return app;
    }
}
