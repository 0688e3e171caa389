using System.Security.Claims;

namespace Agents.Micro.ServiceDefaults.Security;

/// <summary>Who is calling: the user id and whether their token is an admin token.</summary>
public sealed record CallerIdentity(string UserId, bool IsAdmin)
{
    public const string UserIdClaim = "sub";
    public const string AdminClaim = "adm";

    public ClaimsPrincipal ToPrincipal(string scheme) => new(new ClaimsIdentity(
    [
        new Claim(UserIdClaim, UserId),
        new Claim(AdminClaim, IsAdmin ? "true" : "false"),
    ], scheme, UserIdClaim, null));

    public static CallerIdentity? From(ClaimsPrincipal? user)
    {
        var id = user?.FindFirst(UserIdClaim)?.Value;
        if (string.IsNullOrEmpty(id) || user?.Identity?.IsAuthenticated != true) return null;
        return new CallerIdentity(id, user.FindFirst(AdminClaim)?.Value == "true");
    }
}
