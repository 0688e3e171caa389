namespace Agents.Micro.Gateway.Edge;

/// <summary>Response headers that harden browsers against sniffing, framing and cross-site leaks.</summary>
public sealed class SecurityHeadersOptions
{
    public const string SectionName = "SecurityHeaders";

    /// <summary>
    /// Suits a console served from the same origin: its own scripts, styles (inline allowed for UI libraries),
    /// images and API calls; no framing, plugins or foreign form targets.
    /// </summary>
    public string ContentSecurityPolicy { get; set; } =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
}
