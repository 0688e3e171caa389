using System.Net.Http.Json;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>Gateway, TaskApi and one worker as processes on PostgreSQL and RabbitMQ (tests add and kill workers).</summary>
public sealed class DoubleTextingFixture : DistributedFixture
{
    protected override int WorkerCount => 1;
}

/// <summary>
/// if_busy on the production topology: the worker's group commit ends a task and starts the next queued message in one
/// transaction, and a worker killed between an interrupt and its stop leaves one consistent outcome.
/// </summary>
public sealed class DoubleTextingDistributedTests(DoubleTextingFixture fx) : IClassFixture<DoubleTextingFixture>
{
    private static async Task<JsonElement> SendAsync(HttpClient c, object body) => await c.PostJsonAsync("/api/v1/messages", body, 202);

    private static string Id(JsonElement sent) => sent.GetProperty("task_id").GetString()!;

    private static double Ts(PolledTask t, string type) => t.Events.First(e => e.GetProperty("type").GetString() == type).GetProperty("ts").GetDouble();

    [Fact]
    public async Task EnqueueInterruptAndRollback_OnPostgres_RunInOrder_OneAtATime()
    {
        var c = await fx.GatewayClientAsync("dt-dist");
        var first = await SendAsync(c, new { message = "my name is Cy" });
        var conversation = first.GetProperty("conversation_id").GetString()!;
        var queued = await Task.WhenAll(Enumerable.Range(1, 4).Select(i =>
            SendAsync(c, new { message = $"hello {i}", conversation_id = conversation, if_busy = "enqueue" })));
        var runs = new List<(double Start, double End)>();
        foreach (var id in queued.Select(Id).Prepend(Id(first)))
        {
            var d = await TaskPolling.PollAsync(c, id);
            Assert.Equal("completed", d.Status);
            runs.Add((Ts(d, "task_started"), Ts(d, "task_completed")));
        }
        var ordered = runs.OrderBy(r => r.Start).ToList();
        for (var i = 1; i < ordered.Count; i++) Assert.True(ordered[i].Start >= ordered[i - 1].End, "two tasks of one conversation overlapped");

        var counting = await SendAsync(c, new { message = "count to 3000", conversation_id = conversation });
        await TaskPolling.PollAsync(c, Id(counting), t => t.Types.Count(x => x == "text_chunk") >= 10);
        var interrupting = await SendAsync(c, new { message = "what did I say before?", conversation_id = conversation, if_busy = "interrupt" });
        Assert.Equal("cancelled", (await TaskPolling.PollAsync(c, Id(counting))).Status);
        Assert.Contains("Before this you said: \"count to 3000\"", (await TaskPolling.PollAsync(c, Id(interrupting))).Text());

        // Rollbacks sent all at once: the counting task is cancelled; each message is queued behind it or behind one that
        // started meanwhile (and rolls that one back); they run one at a time and the conversation ends with an answer.
        var busy = await SendAsync(c, new { message = "count to 3000", conversation_id = conversation });
        await TaskPolling.PollAsync(c, Id(busy), t => t.Types.Count(x => x == "text_chunk") >= 10);
        var rollbacks = await Task.WhenAll(Enumerable.Range(1, 3).Select(i =>
            SendAsync(c, new { message = $"again {i}", conversation_id = conversation, if_busy = "rollback" })));
        var cancelled = await TaskPolling.PollAsync(c, Id(busy));
        Assert.Equal("cancelled", cancelled.Status);
        runs = [(Ts(cancelled, "task_started"), Ts(cancelled, "task_cancelled"))];
        var outcomes = new List<string>();
        foreach (var id in rollbacks.Select(Id))
        {
            var d = await TaskPolling.PollAsync(c, id);
            outcomes.Add(d.Status);
            if (d.Types.Contains("task_started")) runs.Add((Ts(d, "task_started"), d.Events[^1].GetProperty("ts").GetDouble()));
        }
        Assert.All(outcomes, o => Assert.Contains(o, new[] { "completed", "cancelled" }));
        Assert.Contains("completed", outcomes);
        ordered = runs.OrderBy(r => r.Start).ToList();
        for (var i = 1; i < ordered.Count; i++) Assert.True(ordered[i].Start >= ordered[i - 1].End, "two tasks of one conversation overlapped");

        var again = await SendAsync(c, new { message = "count to 3000", conversation_id = conversation });
        await TaskPolling.PollAsync(c, Id(again), t => t.Types.Count(x => x == "text_chunk") >= 10);
        var rollingBack = await SendAsync(c, new { message = "what did I say before?", conversation_id = conversation, if_busy = "rollback" });
        Assert.Equal("cancelled", (await TaskPolling.PollAsync(c, Id(again))).Status);
        // The turn before the rolled-back one: the last of the "again" messages, not "count to 3000".
        Assert.Contains("Before this you said: \"again ", (await TaskPolling.PollAsync(c, Id(rollingBack))).Text());
    }

    [Fact]
    public async Task AWorkerKilledBetweenAnInterruptAndItsStop_LeavesTheOldTaskCancelled_AndTheNewOneRunsOnAnother()
    {
        var c = await fx.GatewayClientAsync("dt-crash");
        var first = await SendAsync(c, new { message = "count to 3000" });
        var conversation = first.GetProperty("conversation_id").GetString()!;
        await TaskPolling.PollAsync(c, Id(first), t => t.Types.Count(x => x == "text_chunk") >= 10);
        // The flag is committed with the send; the worker dies before it can act on it.
        var second = await SendAsync(c, new { message = "what did I say before?", conversation_id = conversation, if_busy = "interrupt" });
        foreach (var w in fx.Workers) w.Kill();
        fx.Workers.Add(await fx.StartWorkerAsync());

        var old = await TaskPolling.PollAsync(c, Id(first), timeout: TimeSpan.FromSeconds(60));
        Assert.Equal("cancelled", old.Status);
        var next = await TaskPolling.PollAsync(c, Id(second), timeout: TimeSpan.FromSeconds(60));
        Assert.Equal("completed", next.Status);
        Assert.True(Ts(next, "task_started") >= Ts(old, "task_cancelled"));
        Assert.Contains("Before this you said: \"count to 3000\"", next.Text());
        var turns = (await c.GetFromJsonAsync<JsonElement>($"/api/v1/conversations/{conversation}/tasks")).GetProperty("items");
        Assert.Equal(["cancelled", "completed"], turns.EnumerateArray().Select(t => t.GetProperty("status").GetString()));
    }
}
