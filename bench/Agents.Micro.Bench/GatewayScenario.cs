using System.Diagnostics;

namespace Agents.Micro.Bench;

/// <summary>
/// Scenario 4: the same read (GET /api/v1/tasks/{id}?from=0 of a finished task) direct to TaskApi with a signed
/// identity and through the gateway; the baseline is a bare Kestrel endpoint and bare YARP in front of it.
/// </summary>
public sealed class GatewayScenario(Deployment d, Settings s, Report report)
{
    public async Task RunAsync()
    {
        var (kestrel, kestrelUrl) = await BareServers.StartAsync("bare-kestrel");
        var (yarp, yarpUrl) = await BareServers.StartAsync("bare-yarp", new() { ["BENCH_YARP_DEST"] = kestrelUrl });
        try
        {
            var api = d.Client();
            var (id, _) = await api.SubmitAsync("hello");
            await api.WaitForAsync(id, Api.IsTerminal, 5, TimeSpan.FromSeconds(30));
            var path = $"/api/v1/tasks/{id}?from=0";
            var targets = new (string Name, Api Api, string? Baseline)[]
            {
                ("bare Kestrel", new Api(kestrelUrl, null), null),
                ("bare YARP → bare Kestrel", new Api(yarpUrl, null), "bare Kestrel"),
                ("poll direct to TaskApi (signed identity)", d.DirectTaskApiClient(), "bare Kestrel"),
                ("poll through the gateway", api, "poll direct to TaskApi (signed identity)"),
            };
            foreach (var (name, client, baseline) in targets)
            {
                var (lat, rate) = await MeasureAsync(client, path);
                report.Latency("4 gateway overhead", name + ", sequential", lat, baseline is null ? null : baseline + ", sequential");
                report.Rate("4 gateway overhead", name + $", {Concurrency} concurrent", "req/s", rate, baseline is null ? null : baseline + $", {Concurrency} concurrent");
            }
            // The number the target is about: what the gateway adds over TaskApi, next to what bare YARP adds over bare Kestrel.
            double P50(string n) => report.Find(n + ", sequential")?.P50 ?? double.NaN;
            var yarpAdds = P50("bare YARP → bare Kestrel") - P50("bare Kestrel");
            var gatewayAdds = P50("poll through the gateway") - P50("poll direct to TaskApi (signed identity)");
            report.Add(new Figure
            {
                Scenario = "4 gateway overhead", Name = "p50 added by the gateway / by bare YARP", Unit = "ms",
                Value = Math.Round(gatewayAdds, 3), Baseline = "bare YARP adds", Ratio = yarpAdds > 0 ? Math.Round(gatewayAdds / yarpAdds, 2) : null,
                Note = $"gateway adds {gatewayAdds:F3} ms; bare YARP adds {yarpAdds:F3} ms",
            });
        }
        finally
        {
            yarp.Kill();
            kestrel.Kill();
        }
    }

    private int Concurrency => 16;

    private async Task<(Samples, double)> MeasureAsync(Api api, string path)
    {
        async Task One()
        {
            using var r = api.Request(HttpMethod.Get, path);
            using var resp = await api.SendAsync(r);
            resp.EnsureSuccessStatusCode();
        }
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < (s.Quick ? 0.5 : 2)) await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => One()));
        var lat = new Samples();
        var sequential = Stopwatch.StartNew();
        while (sequential.Elapsed.TotalSeconds < s.Duration / 2 || lat.Count < 200)
        {
            var t0 = Stopwatch.GetTimestamp();
            await One();
            lat.Add(Api.Ms(t0, Stopwatch.GetTimestamp()));
        }
        long count = 0;
        var stop = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(async () =>
        {
            while (stop.Elapsed.TotalSeconds < s.Duration / 2)
            {
                await One();
                Interlocked.Increment(ref count);
            }
        })));
        return (lat, count / stop.Elapsed.TotalSeconds);
    }
}
