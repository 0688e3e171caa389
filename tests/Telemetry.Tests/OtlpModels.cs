namespace Agents.Micro.Telemetry.Tests;

/// <summary>A span as the receiver got it, with the resource it came from.</summary>
public sealed record ReceivedSpan(
    string ServiceName,
    IReadOnlyDictionary<string, object?> Resource,
    string Scope,
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Name,
    SpanKind Kind,
    IReadOnlyDictionary<string, object?> Attributes,
    IReadOnlyList<ReceivedLink> Links)
{
    public object? this[string attribute] => Attributes.GetValueOrDefault(attribute);

    public override string ToString() => $"{ServiceName}:{Name} ({Kind}) {SpanId}<-{ParentSpanId}";
}

public sealed record ReceivedLink(string TraceId, string SpanId, IReadOnlyDictionary<string, object?> Attributes);

/// <summary>OTLP's span kinds (SPAN_KIND_*).</summary>
public enum SpanKind { Unspecified = 0, Internal = 1, Server = 2, Client = 3, Producer = 4, Consumer = 5 }

/// <summary>One data point of a Sum (counter) or Histogram, as exported (cumulative by default).</summary>
public sealed record ReceivedPoint(
    string ServiceName,
    string ServiceInstance,
    string Metric,
    string Kind,
    IReadOnlyDictionary<string, object?> Attributes,
    ulong TimeUnixNano,
    double Value,
    ulong Count)
{
    public object? this[string attribute] => Attributes.GetValueOrDefault(attribute);
}

/// <summary>A log record as exported, with the trace and span it was written in (null outside any span).</summary>
public sealed record ReceivedLog(
    string ServiceName,
    string Category,
    string Severity,
    string Body,
    IReadOnlyDictionary<string, object?> Attributes,
    string? TraceId,
    string? SpanId)
{
    public object? this[string attribute] => Attributes.GetValueOrDefault(attribute);
}
