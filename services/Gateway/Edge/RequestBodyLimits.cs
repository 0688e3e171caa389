using Agents.Micro.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Agents.Micro.Gateway.Edge;

/// <summary>
/// The request target's length, and per-path body limits. A declared length over the limit is refused before anything is read or forwarded;
/// a chunked body is cut off by the server when it passes the limit (see the proxy's error mapping).
/// </summary>
public static class RequestBodyLimits
{
    public static IApplicationBuilder UseRequestBodyLimits(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<IOptions<LimitsOptions>>().Value;
        return app.Use((ctx, next) =>
        {
            // The raw target as the client sent it (before percent-decoding), which is what servers downstream limit.
            var target = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget;
            if (target is not null && target.Length > options.MaxRequestTargetBytes)
                return ApiError.WriteAsync(ctx, StatusCodes.Status414UriTooLong,
                    $"request URL too long (limit {options.MaxRequestTargetBytes} bytes)");
            var limit = options.LimitFor(ctx.Request.Path.Value ?? "/");
            if (ctx.Request.ContentLength > limit)
            {
                // The unread body is not worth draining: close the connection once the answer is out.
                ctx.Response.Headers.Connection = "close";
                return ApiError.WriteAsync(ctx, StatusCodes.Status413PayloadTooLarge, $"request body too large (limit {limit} bytes)");
            }
            var feature = ctx.Features.Get<IHttpMaxRequestBodySizeFeature>();
            if (feature is { IsReadOnly: false }) feature.MaxRequestBodySize = limit;
            return next(ctx);
        });
    }
}
