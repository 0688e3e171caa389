using Agents.Micro.Telemetry.Tests.Otlp;
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace Agents.Micro.Telemetry.Tests;

/// <summary>
/// Decodes OTLP/HTTP protobuf exports (traces, metrics, logs) with Google.Protobuf and the messages of otlp.proto,
/// flattening them into the records the tests look at.
/// </summary>
public static class OtlpDecoder
{
    public static List<ReceivedSpan> DecodeTraces(byte[] body) =>
        ExportTraceServiceRequest.Parser.ParseFrom(body).ResourceSpans.SelectMany(rs =>
        {
            var resource = Attributes(rs.Resource?.Attributes);
            var service = resource.GetValueOrDefault("service.name") as string ?? "";
            return rs.ScopeSpans.SelectMany(ss => ss.Spans.Select(s => new ReceivedSpan(
                service, resource, ss.Scope?.Name ?? "", Hex(s.TraceId), Hex(s.SpanId),
                s.ParentSpanId.IsEmpty ? null : Hex(s.ParentSpanId), s.Name, (SpanKind)s.Kind, Attributes(s.Attributes),
                s.Links.Select(l => new ReceivedLink(Hex(l.TraceId), Hex(l.SpanId), Attributes(l.Attributes))).ToList())));
        }).ToList();

    public static List<ReceivedPoint> DecodeMetrics(byte[] body)
    {
        var points = new List<ReceivedPoint>();
        foreach (var rm in ExportMetricsServiceRequest.Parser.ParseFrom(body).ResourceMetrics)
        {
            var resource = Attributes(rm.Resource?.Attributes);
            var service = resource.GetValueOrDefault("service.name") as string ?? "";
            var instance = resource.GetValueOrDefault("service.instance.id") as string ?? "";
            foreach (var m in rm.ScopeMetrics.SelectMany(sm => sm.Metrics))
            {
                ReceivedPoint Number(NumberDataPoint p, string kind) => new(service, instance, m.Name, kind, Attributes(p.Attributes),
                    p.TimeUnixNano, p.ValueCase == NumberDataPoint.ValueOneofCase.AsInt ? p.AsInt : p.AsDouble, 0);
                points.AddRange(m.DataCase switch
                {
                    Metric.DataOneofCase.Gauge => m.Gauge.DataPoints.Select(p => Number(p, "gauge")),
                    Metric.DataOneofCase.Sum => m.Sum.DataPoints.Select(p => Number(p, "sum")),
                    Metric.DataOneofCase.Histogram => m.Histogram.DataPoints.Select(p => new ReceivedPoint(
                        service, instance, m.Name, "histogram", Attributes(p.Attributes), p.TimeUnixNano, p.Sum, p.Count)),
                    _ => [],
                });
            }
        }
        return points;
    }

    public static List<ReceivedLog> DecodeLogs(byte[] body) =>
        ExportLogsServiceRequest.Parser.ParseFrom(body).ResourceLogs.SelectMany(rl =>
        {
            var resource = Attributes(rl.Resource?.Attributes);
            var service = resource.GetValueOrDefault("service.name") as string ?? "";
            return rl.ScopeLogs.SelectMany(sl => sl.LogRecords.Select(l => new ReceivedLog(
                service, sl.Scope?.Name ?? "", l.SeverityText, Value(l.Body) as string ?? "", Attributes(l.Attributes),
                l.TraceId.IsEmpty ? null : Hex(l.TraceId), l.SpanId.IsEmpty ? null : Hex(l.SpanId))));
        }).ToList();

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    private static Dictionary<string, object?> Attributes(RepeatedField<KeyValue>? attributes) =>
        attributes?.GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => Value(g.Last().Value)) ?? [];

    private static object? Value(AnyValue? v) => v?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => v.StringValue,
        AnyValue.ValueOneofCase.BoolValue => v.BoolValue,
        AnyValue.ValueOneofCase.IntValue => v.IntValue,
        AnyValue.ValueOneofCase.DoubleValue => v.DoubleValue,
        AnyValue.ValueOneofCase.ArrayValue => v.ArrayValue.Values.Select(Value).ToList(),
        AnyValue.ValueOneofCase.BytesValue => v.BytesValue.ToByteArray(),
        _ => null,
    };
}
