namespace Agents.Micro.ServiceDefaults.Data;

/// <summary>Timestamps are stored and served as Unix seconds with a fraction, as both APIs show them.</summary>
public static class UnixTime
{
    public static double Now(TimeProvider? clock = null) =>
        (clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
}
