using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Agents.Micro.ServiceDefaults.Http;

/// <summary>
/// An integer query parameter declared once: the handler reads it with <see cref="Read"/> and the OpenAPI document
/// shows it with <c>WithQueryParameter(IntegerQuery)</c>, from the same name, bounds and default. Read by hand (not
/// bound by ASP.NET Core) so that a bad value is a 400 in the API's error shape that names the parameter.
/// </summary>
public sealed record IntegerQuery(string Name, string Description, long Default = 0, long Minimum = 0, long Maximum = long.MaxValue)
{
    /// <summary>
    /// The value, or <see cref="Default"/> when absent; the error sentence when it is not an integer within the bounds
    /// (<paramref name="maximum"/> overrides <see cref="Maximum"/> where a setting decides it).
    /// </summary>
    public string? Read(HttpContext ctx, out long value, long? maximum = null)
    {
        var max = maximum ?? Maximum;
        value = Default;
        var raw = ctx.Request.Query[Name];
        if (raw.Count == 0) return null;
        if (raw.Count == 1 && long.TryParse(raw[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)
            && value >= Minimum && value <= max)
            return null;
        value = Default;
        return max >= int.MaxValue && Minimum == 0
            ? $"'{Name}' must be a non-negative integer"
            : $"'{Name}' must be an integer between {Minimum} and {max}";
    }

    /// <summary><see cref="Read"/> for parameters whose bounds fit an <see cref="int"/>.</summary>
    public string? Read(HttpContext ctx, out int value, int? maximum = null)
    {
        var error = Read(ctx, out long wide, maximum);
        value = (int)wide;
        return error;
    }
}
