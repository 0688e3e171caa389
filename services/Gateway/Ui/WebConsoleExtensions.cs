using System.Collections.Frozen;
using System.Security.Cryptography;
using Agents.Micro.ServiceDefaults.Errors;

namespace Agents.Micro.Gateway;

/// <summary>
/// The browser console: <c>wwwroot/</c> is compiled into this assembly (resources <c>console/…</c>), so the gateway and
/// every host that references it (the embedded Standalone host) serve the same files with no content root to ship.
/// The page is public; its API calls carry the user's bearer token.
/// </summary>
public static class WebConsoleExtensions
{
    private const string ResourcePrefix = "console/";

    private static readonly Lazy<FrozenDictionary<string, Asset>> Assets = new(Load);

    /// <summary>Maps <c>GET /</c> (the page) and <c>GET /console/{file}</c> (its script and styles), anonymous.</summary>
    public static IEndpointRouteBuilder MapWebConsole(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext ctx) => Serve(ctx, "index.html")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/console/{file}", (string file, HttpContext ctx) => Serve(ctx, file)).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static IResult Serve(HttpContext ctx, string file)
    {
        // An unknown name falls through to the API's JSON 404, like any unknown route.
        if (!Assets.Value.TryGetValue(file, out var asset)) return ApiError.NotFound("not found");
        // no-cache: the browser revalidates with the ETag, so a new deployment is picked up at once and costs a 304 otherwise.
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers.ETag = asset.ETag;
        if (ctx.Request.Headers.IfNoneMatch.Any(v => v == asset.ETag)) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(asset.Content, asset.ContentType);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(WebConsoleExtensions).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var bytes = buffer.ToArray();
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"";
            assets[name[ResourcePrefix.Length..]] = new Asset(bytes, ContentTypeOf(name), etag);
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    private sealed record Asset(byte[] Content, string ContentType, string ETag);
}
