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
                    ? WithScriptNonce(csp, n)
                    : csp;
                return Task.CompletedTask;
            });
            return next(ctx);
        });
    }

    /// <summary>
    /// The policy with <c>'nonce-…'</c> added to its <c>script-src</c>; without one, a <c>script-src</c> made from
    /// <c>default-src</c> (which scripts would otherwise fall back to); without either, the policy unchanged (it
    /// allows scripts from anywhere already).
    /// </summary>
    public static string WithScriptNonce(string csp, string nonce)
    {
        var directives = csp.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        var source = $"'nonce-{nonce}'";
        var script = directives.FindIndex(d => d.Split(' ')[0].Equals("script-src", StringComparison.OrdinalIgnoreCase));
        if (script >= 0) directives[script] += " " + source;
        else if (directives.FirstOrDefault(d => d.Split(' ')[0].Equals("default-src", StringComparison.OrdinalIgnoreCase)) is { } fallback)
            directives.Add("script-src" + fallback["default-src".Length..] + " " + source);
        else return csp;
        return string.Join("; ", directives);
    }
}
