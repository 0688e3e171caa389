using System.Diagnostics;

namespace Agents.Micro.ServiceDefaults.Telemetry;

/// <summary>
/// A W3C <c>traceparent</c> kept with a piece of work (a task row) so that later work on it — a resume, a cancel, a
/// retry on another worker — can link back to the trace where it began.
/// </summary>
public static class TraceParent
{
    /// <summary>The current span's <c>traceparent</c>, or null when nothing is traced.</summary>
    public static string? Current() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } a ? a.Id : null;

    /// <summary>The trace id of the current span (what to search for in Jaeger), or null.</summary>
    public static string? CurrentTraceId() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } a ? a.TraceId.ToHexString() : null;

    /// <summary>
    /// A link to <paramref name="traceParent"/> when it belongs to another trace than the current one (work continued
    /// in its own trace); none when it is missing, malformed, or the same trace.
    /// </summary>
    public static ActivityLink[] LinksTo(string? traceParent, string relation)
    {
        if (string.IsNullOrEmpty(traceParent) || !ActivityContext.TryParse(traceParent, null, out var context)) return [];
        if (Activity.Current is { } current && current.TraceId == context.TraceId) return [];
        return [new ActivityLink(context, new ActivityTagsCollection { ["agents.link"] = relation })];
    }
}
