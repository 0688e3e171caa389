using System.Collections.Concurrent;
using System.IO.Compression;
using Agents.Micro.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Agents.Micro.Telemetry.Tests;

/// <summary>
/// An OTLP/HTTP (protobuf) collector in the test process: Kestrel with <c>POST /v1/traces</c>, <c>/v1/metrics</c> and
/// <c>/v1/logs</c>, as an OpenTelemetry Collector or the Aspire Dashboard expose them. It keeps everything it decodes.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private readonly ConcurrentQueue<ReceivedPoint> _points = new();
    private readonly ConcurrentQueue<ReceivedLog> _logs = new();
    private readonly ConcurrentQueue<string> _headers = new();

    private OtlpReceiver(WebApplication app, string endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    /// <summary>The base URL to put in <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (the exporter appends /v1/traces, /v1/metrics, /v1/logs).</summary>
    public string Endpoint { get; }

    public IReadOnlyList<ReceivedSpan> Spans => _spans.ToArray();
    public IReadOnlyList<ReceivedPoint> Points => _points.ToArray();
    public IReadOnlyList<ReceivedLog> Logs => _logs.ToArray();

    /// <summary>The value of the <c>x-otlp-test</c> header of each export (set through OTEL_EXPORTER_OTLP_HEADERS).</summary>
    public IReadOnlyList<string> TestHeaders => _headers.ToArray();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var endpoint = $"http://127.0.0.1:{TestEnv.FreePort()}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(endpoint);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app, endpoint);
        app.MapPost("/v1/traces", async (HttpContext ctx) =>
        {
            foreach (var s in OtlpDecoder.DecodeTraces(await receiver.BodyAsync(ctx))) receiver._spans.Enqueue(s);
            return Results.Bytes([], "application/x-protobuf");
        });
        app.MapPost("/v1/metrics", async (HttpContext ctx) =>
        {
            foreach (var p in OtlpDecoder.DecodeMetrics(await receiver.BodyAsync(ctx))) receiver._points.Enqueue(p);
            return Results.Bytes([], "application/x-protobuf");
        });
        app.MapPost("/v1/logs", async (HttpContext ctx) =>
        {
            foreach (var l in OtlpDecoder.DecodeLogs(await receiver.BodyAsync(ctx))) receiver._logs.Enqueue(l);
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        return receiver;
    }

    private async Task<byte[]> BodyAsync(HttpContext ctx)
    {
        if (ctx.Request.Headers["x-otlp-test"].ToString() is { Length: > 0 } h) _headers.Enqueue(h);
        Stream body = ctx.Request.Body;
        if (string.Equals(ctx.Request.Headers.ContentEncoding, "gzip", StringComparison.OrdinalIgnoreCase))
            body = new GZipStream(body, CompressionMode.Decompress);
        using var ms = new MemoryStream();
        await body.CopyToAsync(ms);
        return ms.ToArray();
    }

    /// <summary>The spans of one trace.</summary>
    public IReadOnlyList<ReceivedSpan> Trace(string traceId) => Spans.Where(s => s.TraceId == traceId).ToList();

    /// <summary>Polls until <paramref name="condition"/> holds; on timeout fails with what was received.</summary>
    public async Task<T> WaitForAsync<T>(Func<OtlpReceiver, T?> condition, TimeSpan timeout, string what) where T : class
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if (condition(this) is { } found) return found;
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"{what}: not received within {timeout}. Spans: {Spans.Count}, points: {Points.Count}; "
                    + $"span names: {string.Join(", ", Spans.Select(s => s.ServiceName + ":" + s.Name).Distinct().Take(60))}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// The latest value of a cumulative counter summed over the processes (service instances) that export it,
    /// counting only data points whose attributes include every pair of <paramref name="where"/>.
    /// </summary>
    public double CounterTotal(string metric, params (string Key, object Value)[] where) =>
        Points.Where(p => p.Metric == metric && where.All(w => Equals(p[w.Key], w.Value)))
            .GroupBy(p => (p.ServiceInstance, Key: string.Join(",", p.Attributes.OrderBy(a => a.Key).Select(a => $"{a.Key}={a.Value}"))))
            .Sum(g => g.MaxBy(p => p.TimeUnixNano)!.Value);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
