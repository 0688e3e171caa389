using Microsoft.AspNetCore.Http;

namespace Agents.Micro.ServiceDefaults.Security;

public static class HttpContextUserExtensions
{
    /// <summary>The authenticated caller. Endpoints that call this require authorization, so it is always present.</summary>
    public static CallerIdentity Caller(this HttpContext ctx) =>
        CallerIdentity.From(ctx.User) ?? throw new InvalidOperationException("endpoint reached without an authenticated caller");
}
