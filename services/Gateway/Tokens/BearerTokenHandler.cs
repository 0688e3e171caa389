using Microsoft.AspNetCore.Http;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

using Agents.Micro.ServiceDefaults.Security;

namespace Agents.Micro.Gateway.Tokens;

/// <summary>Authenticates <c>Authorization: Bearer &lt;token&gt;</c> against the token store (by SHA-256 hash).</summary>
public sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, TokenAuthenticator tokens,
    AuthFailureLimiter failures)
    : ErrorChallengeHandler(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        // Browsers cannot set headers on EventSource/WebSocket: accept ?access_token= on the streaming GETs only. Anywhere
        // else a token in a URL would only invite links that carry it into histories, Referer headers and proxy logs.
        if (string.IsNullOrEmpty(header) && HttpMethods.IsGet(Request.Method) && IsStream(Request.Path)
            && Request.Query.TryGetValue("access_token", out var qt))
            header = "Bearer " + qt;
        if (string.IsNullOrEmpty(header))
        {
            FailureMessage = "missing bearer token (Authorization: Bearer <token>)";
            return AuthenticateResult.NoResult();
        }
        var address = AuthFailureLimiter.AddressOf(Context);
        var presented = header.Length > 7 ? header[7..].Trim() : "";
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(presented)));
        if (failures.IsLockedOut(address) && !failures.WasRecentlyGood(hash))
        {
            FailureMessage = $"too many failed authentications from your address; retry in {AuthFailureLimiter.Window.TotalSeconds:F0} s";
            LockedOutFor = AuthFailureLimiter.Window;
            return AuthenticateResult.Fail(FailureMessage);
        }
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7)
        {
            failures.RecordFailure(address);
            FailureMessage = "malformed Authorization header: expected 'Bearer <token>'";
            return AuthenticateResult.Fail(FailureMessage);
        }
        var caller = await tokens.AuthenticateAsync(presented, Context.RequestAborted);
        if (caller is null)
        {
            failures.RecordFailure(address);
            FailureMessage = "invalid or revoked token";
            return AuthenticateResult.Fail(FailureMessage);
        }
        failures.RecordSuccess(hash);
        return AuthenticateResult.Success(new AuthenticationTicket(caller.ToPrincipal(SchemeName), SchemeName));
    }

    private static bool IsStream(PathString path) =>
        path.Value is { } p && (p.EndsWith("/events", StringComparison.Ordinal) || p.EndsWith("/ws", StringComparison.Ordinal));
}
