using System.Reflection;
using Agents.Micro.Gateway.Docs;
using Agents.Micro.ServiceDefaults.Errors;
using Microsoft.Extensions.DependencyInjection.Extensions;
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

    /// <summary>The docs page's files, embedded in this assembly (no CDN, nothing fetched at run time).</summary>
    private static readonly Dictionary<string, string> UiFiles = new(StringComparer.Ordinal)
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["docs.js"] = "text/javascript; charset=utf-8",
        ["docs.css"] = "text/css; charset=utf-8",
    };

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

        app.MapGet(DocsPath, (HttpContext ctx) => UiFile(ctx, "index.html")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet(DocsPath + "/{file}", (HttpContext ctx, string file) => UiFile(ctx, file)).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static IResult UiFile(HttpContext ctx, string file)
    {
        if (file.Length == 0) file = "index.html";
        if (!UiFiles.TryGetValue(file, out var contentType)) return ApiError.NotFound($"no docs file '{file}'");
        var stream = typeof(GatewayDocsExtensions).Assembly.GetManifestResourceStream("docs-ui/" + file);
        if (stream is null) return ApiError.NotFound($"no docs file '{file}'");
        ctx.Response.Headers.CacheControl = "no-cache";
        return Results.Stream(stream, contentType);
    }
}
