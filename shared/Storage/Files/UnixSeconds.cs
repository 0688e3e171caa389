namespace Agents.Micro.Storage.Files;

internal static class UnixSeconds
{
    public static double From(DateTime utc) =>
        new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)).ToUnixTimeMilliseconds() / 1000.0;
}
