using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agents.Micro.ServiceDefaults.Security;

/// <summary>Authenticates requests that carry an identity signed by the gateway (see <see cref="InternalIdentity"/>).</summary>
public sealed class InternalIdentityHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, InternalIdentity identity)
    : ErrorChallengeHandler(options, logger, encoder)
{
    public const string SchemeName = "Internal";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var caller = identity.Verify(Request.Headers[InternalIdentity.HeaderName], out var reason);
        if (caller is null)
        {
            FailureMessage = $"unauthenticated: {reason} (requests must come through the gateway)";
            return Task.FromResult(AuthenticateResult.Fail(reason));
        }
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(caller.ToPrincipal(SchemeName), SchemeName)));
    }
}
