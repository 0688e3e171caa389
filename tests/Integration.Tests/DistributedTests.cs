using System.Net;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>End to end across processes: client → Gateway → TaskApi → RabbitMQ → two AgentWorkers → PostgreSQL.</summary>
public sealed partial class DistributedTests(DistributedFixture fx) : IClassFixture<DistributedFixture>
{
    [Fact]
    public async Task ConversationAndMessages_ThroughTheGateway_CompleteOnCompetingWorkers_WithGaplessLogs()
    {
        var c = await fx.GatewayClientAsync("dist-alice");
        var conv = await c.PostJsonAsync("/api/v1/conversations", new { }, 200);
        var convId = conv.GetProperty("conversation_id").GetString();

        // Several conversations at once so both workers get work: each worker logs "started on" for each run it takes.
        var runsBefore = fx.Workers.Select(w => Runs(w)).ToList();
        var sent = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            c.PostJsonAsync("/api/v1/messages", i == 0 ? new { message = "hello number 0", conversation_id = convId } : (object)new { message = $"hello number {i}" }, 202)));
        Assert.Equal(convId, sent[0].GetProperty("conversation_id").GetString());

        foreach (var (s, i) in sent.Select((s, i) => (s, i)))
        {
            var t = await TaskPolling.PollAsync(c, s.GetProperty("task_id").GetString()!, timeout: TimeSpan.FromSeconds(60));
            Assert.Equal("completed", t.Status);
            Assert.Equal("task_started", t.Types.First());
            Assert.Equal("task_completed", t.Types.Last());
            Assert.Single(t.Types, x => PolledTask.TerminalTypes.Contains(x));
            Assert.Equal(Enumerable.Range(0, t.Events.Count).Select(x => (long)x), t.Events.Select(e => e.GetProperty("idx").GetInt64()));
            Assert.Contains($"hello number {i}", t.Text());
        }

        // Reading again from a middle offset continues exactly where asked.
        var first = sent[0].GetProperty("task_id").GetString();
        var resp = await c.GetAsync($"/api/v1/tasks/{first}?from=3");
        var data = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement.GetProperty("data");
        Assert.Equal(3, data.GetProperty("events")[0].GetProperty("idx").GetInt64());
        Assert.Equal(data.GetProperty("events").GetArrayLength() + 3, data.GetProperty("next_offset").GetInt64());

        Assert.All(fx.Workers, w => Assert.False(w.HasExited));
        // Both workers ran some of them: the competing consumers shared the work.
        Assert.All(fx.Workers.Select((w, i) => Runs(w) - runsBefore[i]), ran => Assert.True(ran > 0, "a worker ran none of the 8 tasks"));
    }

    private static int Runs(ServiceProcess worker) => worker.Output.Split(" started on ").Length - 1;

    [Fact]
    public async Task Cancel_ThroughTheGateway_StopsALongRunOnWhicheverWorkerHoldsIt()
    {
        var c = await fx.GatewayClientAsync("dist-bob");
        var sent = await c.PostJsonAsync("/api/v1/messages", new { message = "count to 5000" }, 202);
        var id = sent.GetProperty("task_id").GetString()!;
        await TaskPolling.PollAsync(c, id, t => t.Types.Count(x => x == "text_chunk") >= 3);
        await c.PostJsonAsync($"/api/v1/tasks/{id}/cancel", new { }, 200);
        var t = await TaskPolling.PollAsync(c, id, timeout: TimeSpan.FromSeconds(10));
        Assert.Equal("task_cancelled", t.Types.Last());
        Assert.Equal("cancelled", t.Status);
    }

    [Fact]
    public async Task ServicesReject_AForgedIdentity_AndTheGatewayRejectsMissingTokens()
    {
        using var direct = new HttpClient { BaseAddress = new Uri(fx.TaskApi.BaseUrl) };
        direct.DefaultRequestHeaders.Add("X-User-Id", "dist-alice");
        var r1 = await direct.PostAsync("/api/v1/conversations", null);
        Assert.Equal(HttpStatusCode.Unauthorized, r1.StatusCode);
        direct.DefaultRequestHeaders.Add("X-Agents-Identity", "v1.eyJzdWIiOiJ4In0.AAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await direct.PostAsync("/api/v1/conversations", null)).StatusCode);

        using var anon = new HttpClient { BaseAddress = new Uri(fx.Gateway.BaseUrl) };
        var r2 = await anon.PostAsync("/api/v1/conversations", null);
        Assert.Equal(HttpStatusCode.Unauthorized, r2.StatusCode);
        Assert.False(JsonDocument.Parse(await r2.Content.ReadAsStringAsync()).RootElement.GetProperty("success").GetBoolean());
    }
}
