namespace Agents.Micro.Telemetry.Tests;

/// <summary>
/// Decodes OTLP/HTTP protobuf exports (opentelemetry-proto v1): ExportTraceServiceRequest and
/// ExportMetricsServiceRequest, keeping the fields the tests look at.
/// </summary>
public static class OtlpDecoder
{
    public static List<ReceivedSpan> DecodeTraces(ReadOnlySpan<byte> body)
    {
        var spans = new List<ReceivedSpan>();
        var r = new ProtoReader(body);
        while (r.Next())
        {
            if (r.Field == 1) ResourceSpans(r.ReadBytes(), spans); // resource_spans
            else r.Skip();
        }
        return spans;
    }

    public static List<ReceivedPoint> DecodeMetrics(ReadOnlySpan<byte> body)
    {
        var points = new List<ReceivedPoint>();
        var r = new ProtoReader(body);
        while (r.Next())
        {
            if (r.Field == 1) ResourceMetrics(r.ReadBytes(), points); // resource_metrics
            else r.Skip();
        }
        return points;
    }

    private static void ResourceSpans(ReadOnlySpan<byte> data, List<ReceivedSpan> into)
    {
        Dictionary<string, object?> resource = [];
        var scopes = new List<byte[]>();
        var r = new ProtoReader(data);
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: resource = Resource(r.ReadBytes()); break;
                case 2: scopes.Add(r.ReadBytes().ToArray()); break;
                default: r.Skip(); break;
            }
        }
        var service = resource.GetValueOrDefault("service.name") as string ?? "";
        foreach (var scope in scopes)
        {
            var name = "";
            var spans = new List<byte[]>();
            var s = new ProtoReader(scope);
            while (s.Next())
            {
                switch (s.Field)
                {
                    case 1: name = ScopeName(s.ReadBytes()); break;
                    case 2: spans.Add(s.ReadBytes().ToArray()); break;
                    default: s.Skip(); break;
                }
            }
            foreach (var span in spans) into.Add(Span(span, service, resource, name));
        }
    }

    private static ReceivedSpan Span(ReadOnlySpan<byte> data, string service, Dictionary<string, object?> resource, string scope)
    {
        string traceId = "", spanId = "", name = "";
        string? parent = null;
        var kind = SpanKind.Unspecified;
        var attributes = new Dictionary<string, object?>();
        var links = new List<ReceivedLink>();
        var r = new ProtoReader(data);
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: traceId = Convert.ToHexStringLower(r.ReadBytes()); break;
                case 2: spanId = Convert.ToHexStringLower(r.ReadBytes()); break;
                case 4:
                    var p = r.ReadBytes();
                    parent = p.Length == 0 ? null : Convert.ToHexStringLower(p);
                    break;
                case 5: name = r.ReadString(); break;
                case 6: kind = (SpanKind)(int)r.ReadVarint(); break;
                case 9: KeyValue(r.ReadBytes(), attributes); break;
                case 13: links.Add(Link(r.ReadBytes())); break;
                default: r.Skip(); break;
            }
        }
        return new ReceivedSpan(service, resource, scope, traceId, spanId, parent, name, kind, attributes, links);
    }

    private static ReceivedLink Link(ReadOnlySpan<byte> data)
    {
        string traceId = "", spanId = "";
        var attributes = new Dictionary<string, object?>();
        var r = new ProtoReader(data);
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: traceId = Convert.ToHexStringLower(r.ReadBytes()); break;
                case 2: spanId = Convert.ToHexStringLower(r.ReadBytes()); break;
                case 4: KeyValue(r.ReadBytes(), attributes); break;
                default: r.Skip(); break;
            }
        }
        return new ReceivedLink(traceId, spanId, attributes);
    }

    private static void ResourceMetrics(ReadOnlySpan<byte> data, List<ReceivedPoint> into)
    {
        Dictionary<string, object?> resource = [];
        var scopes = new List<byte[]>();
        var r = new ProtoReader(data);
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: resource = Resource(r.ReadBytes()); break;
                case 2: scopes.Add(r.ReadBytes().ToArray()); break;
                default: r.Skip(); break;
            }
        }
        var service = resource.GetValueOrDefault("service.name") as string ?? "";
        var instance = resource.GetValueOrDefault("service.instance.id") as string ?? "";
        foreach (var scope in scopes)
        {
            var s = new ProtoReader(scope);
            while (s.Next())
            {
                if (s.Field == 2) Metric(s.ReadBytes(), service, instance, into); // metrics
                else s.Skip();
            }
        }
    }

    private static void Metric(ReadOnlySpan<byte> data, string service, string instance, List<ReceivedPoint> into)
    {
        var name = "";
        var r = new ProtoReader(data);
        // name (1) comes before the data in practice, but read it first regardless of order.
        while (r.Next())
        {
            if (r.Field == 1) name = r.ReadString();
            else r.Skip();
        }
        r = new ProtoReader(data);
        while (r.Next())
        {
            switch (r.Field)
            {
                case 5: Points(r.ReadBytes(), "gauge", histogram: false, service, instance, name, into); break;
                case 7: Points(r.ReadBytes(), "sum", histogram: false, service, instance, name, into); break;
                case 9: Points(r.ReadBytes(), "histogram", histogram: true, service, instance, name, into); break;
                default: r.Skip(); break;
            }
        }
    }

    private static void Points(ReadOnlySpan<byte> data, string kind, bool histogram, string service, string instance, string name, List<ReceivedPoint> into)
    {
        var r = new ProtoReader(data);
        while (r.Next())
        {
            if (r.Field == 1) into.Add(histogram ? HistogramPoint(r.ReadBytes(), service, instance, name) : NumberPoint(r.ReadBytes(), kind, service, instance, name));
            else r.Skip();
        }
    }

    private static ReceivedPoint NumberPoint(ReadOnlySpan<byte> data, string kind, string service, string instance, string name)
    {
        var attributes = new Dictionary<string, object?>();
        ulong time = 0;
        double value = 0;
        var r = new ProtoReader(data);
        while (r.Next())
        {
            switch (r.Field)
            {
                case 3: time = r.ReadFixed64(); break;
                case 4: value = r.ReadDouble(); break;            // as_double
                case 6: value = (long)r.ReadFixed64(); break;     // as_int (sfixed64)
                case 7: KeyValue(r.ReadBytes(), attributes); break;
                default: r.Skip(); break;
            }
        }
        return new ReceivedPoint(service, instance, name, kind, attributes, time, value, 0);
    }

    private static ReceivedPoint HistogramPoint(ReadOnlySpan<byte> data, string service, string instance, string name)
    {
        var attributes = new Dictionary<string, object?>();
        ulong time = 0, count = 0;
        double sum = 0;
        var r = new ProtoReader(data);
        while (r.Next())
        {
            switch (r.Field)
            {
                case 3: time = r.ReadFixed64(); break;
                case 4: count = r.ReadFixed64(); break;
                case 5: sum = r.ReadDouble(); break;
                case 9: KeyValue(r.ReadBytes(), attributes); break;
                default: r.Skip(); break;
            }
        }
        return new ReceivedPoint(service, instance, name, "histogram", attributes, time, sum, count);
    }

    private static Dictionary<string, object?> Resource(ReadOnlySpan<byte> data)
    {
        var attributes = new Dictionary<string, object?>();
        var r = new ProtoReader(data);
        while (r.Next())
        {
            if (r.Field == 1) KeyValue(r.ReadBytes(), attributes);
            else r.Skip();
        }
        return attributes;
    }

    private static string ScopeName(ReadOnlySpan<byte> data)
    {
        var r = new ProtoReader(data);
        while (r.Next())
        {
            if (r.Field == 1) return r.ReadString();
            r.Skip();
        }
        return "";
    }

    private static void KeyValue(ReadOnlySpan<byte> data, Dictionary<string, object?> into)
    {
        string key = "";
        object? value = null;
        var r = new ProtoReader(data);
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: key = r.ReadString(); break;
                case 2: value = AnyValue(r.ReadBytes()); break;
                default: r.Skip(); break;
            }
        }
        into[key] = value;
    }

    private static object? AnyValue(ReadOnlySpan<byte> data)
    {
        var r = new ProtoReader(data);
        object? value = null;
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: value = r.ReadString(); break;
                case 2: value = r.ReadVarint() != 0; break;
                case 3: value = (long)r.ReadVarint(); break;
                case 4: value = r.ReadDouble(); break;
                case 5: value = ArrayValue(r.ReadBytes()); break;
                default: r.Skip(); break;
            }
        }
        return value;
    }

    private static List<object?> ArrayValue(ReadOnlySpan<byte> data)
    {
        var items = new List<object?>();
        var r = new ProtoReader(data);
        while (r.Next())
        {
            if (r.Field == 1) items.Add(AnyValue(r.ReadBytes()));
            else r.Skip();
        }
        return items;
    }
}
