using Microsoft.Extensions.Options;
using Scalar.AspNetCore;

namespace Agents.Micro.Gateway.Edge;

/// <summary>Adds the hardening headers to every response, proxied ones included, just before it starts.</summary>
public static class SecurityHeaders
{
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app)
    {
        var csp = app.ApplicationServices.GetRequiredService<IOptions<SecurityHeadersOptions>>().Value.ContentSecurityPolicy;
        return app.Use((ctx, next) =>
        {
            ctx.Response.OnStarting(() =>
            {
                var h = ctx.Response.Headers;
                h.XContentTypeOptions = "nosniff";
                h.XFrameOptions = "DENY";
                h["Referrer-Policy"] = "no-referrer";
                if (string.IsNullOrEmpty(csp)) return Task.CompletedTask;
                // A page that needs one inline script (the /docs page) names it by a per-request nonce.
                h.ContentSecurityPolicy = ctx.Items.TryGetValue(ScalarOptions.NonceHttpContextItemKey, out var nonce) && nonce is string n
                    ? csp.Replace("script-src 'self'", $"script-src 'self' 'nonce-{n}'", StringComparison.Ordinal)
                    : csp;
                return Task.CompletedTask;
            });
            return next(ctx);
        });
    }
}
