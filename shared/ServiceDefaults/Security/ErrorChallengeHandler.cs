using System.Text.Encodings.Web;
using Agents.Micro.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Agents.Micro.ServiceDefaults.Security;

/// <summary>An authentication handler whose 401 and 403 answers carry the API's error body.</summary>
public abstract class ErrorChallengeHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected string FailureMessage { get; set; } = "missing or invalid bearer token";

    /// <summary>The caller's address used up its failed authentications for this long: 429 instead of 401.</summary>
    protected TimeSpan? LockedOutFor { get; set; }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Response.HasStarted) return Task.CompletedTask;
        if (LockedOutFor is { } wait)
        {
            Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return ApiError.WriteAsync(Context, 429, FailureMessage);
        }
        Response.Headers.WWWAuthenticate = "Bearer";
        return ApiError.WriteAsync(Context, 401, FailureMessage);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Response.HasStarted ? Task.CompletedTask : ApiError.WriteAsync(Context, 403, "this token may not do that");
}
