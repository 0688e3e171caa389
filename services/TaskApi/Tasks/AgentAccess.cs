namespace Agents.Micro.TaskApi.Tasks;

/// <summary>
/// The agent API names its user in every path and body, where v1 takes it from the token. A caller may act only for
/// its own user; an admin token may act for any user, and what it creates then belongs to that user.
/// </summary>
public static class AgentAccess
{
    public const int MaxIdLength = 128;

    /// <summary>The identity to act with for <paramref name="userId"/>, or null when the caller may not.</summary>
    public static CallerIdentity? ActAs(CallerIdentity caller, string userId) =>
        caller.UserId == userId ? caller
        : caller.IsAdmin ? new CallerIdentity(userId, true)
        : null;

    public static string Forbidden(string userId) =>
        $"user_id '{Shorten(userId)}' is not the caller's user (only an admin token may act for another user)";

    /// <summary>
    /// Ids chosen by the client end up in URL paths (<c>/agent/status/{user_id}/{session_id}/{task_id}</c>), so they must be
    /// addressable there: not blank, at most 128 characters, no '/', '\' or control characters. Invisible formatting
    /// characters (bidi overrides, zero-width joiners) are refused too: they make one id display as another. Null when valid.
    /// </summary>
    public static string? CheckId(string field, string? value)
    {
        if (value is null) return $"'{field}' is required";
        if (string.IsNullOrWhiteSpace(value)) return $"'{field}' must not be empty";
        if (value.Length > MaxIdLength) return $"'{field}' is longer than {MaxIdLength} characters";
        if (value.Any(c => c is '/' or '\\' || char.IsControl(c))) return $"'{field}' must not contain '/', '\\' or control characters";
        if (value.Any(c => char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format))
            return $"'{field}' must not contain invisible formatting characters (bidi overrides, zero-width characters)";
        return null;
    }

    private static string Shorten(string s) => s.Length > 64 ? s[..64] + "…" : s;
}
