using System.Net.Http.Json;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Telemetry.Tests;

/// <summary>The exported counters agree with what happened: N tasks sent → N accepted, N started, N completed.</summary>
[Collection(TracingCollection.Name)]
public sealed class MetricsTests(TracingFixture fx)
{
    [Fact]
    public async Task AfterNTasks_ExportedCountersReadN_AcrossBothWorkers()
    {
        // The deep run mode is used by this test only, so its counters are exactly this test's tasks.
        const int n = 5;
        using var http = await fx.GatewayClientAsync("metrics-" + Guid.NewGuid().ToString("N")[..8]);
        var ids = await Task.WhenAll(Enumerable.Range(0, n).Select(async i =>
        {
            var resp = await http.PostAsJsonAsync("/api/v1/messages", new { message = $"hello number {i}", run_mode = "deep" });
            var body = await resp.Content.ReadAsStringAsync();
            Assert.True(202 == (int)resp.StatusCode, body);
            return JsonDocument.Parse(body).RootElement.GetProperty("task_id").GetString()!;
        }));
        foreach (var id in ids) Assert.Equal("task_completed", (await TaskPolling.PollAsync(http, id)).Types.Last());

        var r = fx.Receiver;
        var deep = ("mode", (object)"deep");
        var local = ("model", (object)"local");
        await r.WaitForAsync(x => x.CounterTotal("agents.tasks.finished", deep, ("outcome", "completed")) >= n
            && x.CounterTotal("agents.tasks.accepted", deep) >= n ? x : null, TimeSpan.FromSeconds(20), $"counters reaching {n}");
        await Task.Delay(1200); // two more export intervals: an overshoot would show now

        Assert.Equal(n, r.CounterTotal("agents.tasks.accepted", deep, local));
        Assert.Equal(n, r.CounterTotal("agents.tasks.started", deep, local));
        Assert.Equal(n, r.CounterTotal("agents.tasks.finished", deep, local, ("outcome", "completed")));
        Assert.All(r.Points.Where(p => p.Metric == "agents.tasks.accepted"), p => Assert.Equal("task-api", p.ServiceName));
        Assert.All(r.Points.Where(p => p.Metric == "agents.tasks.finished"), p => Assert.Equal("agent-worker", p.ServiceName));

        // Histograms count one observation per task (queue wait on the first claim, duration per run).
        Assert.Equal(n, (int)HistogramCount(r, "agents.tasks.queue_wait", deep));
        Assert.Equal(n, (int)HistogramCount(r, "agents.tasks.duration", deep, ("outcome", "completed")));
        Assert.True(HistogramCount(r, "agents.model.latency") >= n);
        Assert.True(r.CounterTotal("agents.model.tokens", ("direction", "output")) > 0);
        Assert.True(r.CounterTotal("agents.events.appended") > n);

        // Nothing runs now: the active-tasks gauge of every worker is back at zero.
        var active = r.Points.Where(p => p.Metric == "agents.worker.active_tasks").GroupBy(p => p.ServiceInstance).ToList();
        Assert.NotEmpty(active);
        Assert.All(active, g => Assert.Equal(0, g.MaxBy(p => p.TimeUnixNano)!.Value));

        // ASP.NET Core's own HTTP server metrics, from the gateway and TaskApi.
        Assert.Contains(r.Points, p => p.Metric == "http.server.request.duration" && p.ServiceName == "gateway");
        Assert.Contains(r.Points, p => p.Metric == "http.server.request.duration" && p.ServiceName == "task-api"
            && Equals(p["http.route"], "/api/v1/messages"));
    }

    private static double HistogramCount(OtlpReceiver r, string metric, params (string Key, object Value)[] where) =>
        r.Points.Where(p => p.Metric == metric && p.Kind == "histogram" && where.All(w => Equals(p[w.Key], w.Value)))
            .GroupBy(p => (p.ServiceInstance, string.Join(",", p.Attributes.OrderBy(a => a.Key).Select(a => $"{a.Key}={a.Value}"))))
            .Sum(g => (double)g.MaxBy(p => p.TimeUnixNano)!.Count);
}
