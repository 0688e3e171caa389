using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Agents.Micro.Storage.Tasks;
using Agents.Micro.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Agents.Micro.Integration.Tests;

/// <summary>
/// A message sent to a busy conversation with <c>if_busy</c> (embedded default): queued in arrival order, or stopping
/// the current task and keeping (interrupt) or dropping (rollback) its turn, never two tasks running at once.
/// </summary>
public sealed class DoubleTextingTests(EmbeddedApp app) : IClassFixture<EmbeddedApp>
{
    private static async Task<JsonElement> SendAsync(HttpClient c, object body) => await c.PostJsonAsync("/api/v1/messages", body, 202);

    private static string Id(JsonElement sent) => sent.GetProperty("task_id").GetString()!;

    private static async Task<PolledTask> StreamingAsync(HttpClient c, string id) =>
        await TaskPolling.PollAsync(c, id, t => t.Types.Count(x => x == "text_chunk") >= 10);

    private static double Ts(PolledTask t, string type) => t.Events.First(e => e.GetProperty("type").GetString() == type).GetProperty("ts").GetDouble();

    [Fact]
    public async Task Enqueue_RunsEachMessageAfterTheOneBefore_InArrivalOrder()
    {
        var c = await app.ClientForAsync("dt-enqueue");
        var first = await SendAsync(c, new { message = "count to 150" });
        var conversation = first.GetProperty("conversation_id").GetString()!;
        var second = await SendAsync(c, new { message = "hello two", conversation_id = conversation, if_busy = "enqueue" });
        var third = await SendAsync(c, new { message = "what did I say before?", conversation_id = conversation, if_busy = "enqueue" });
        Assert.Equal("running", second.GetProperty("status").GetString()); // both APIs know a waiting task as running
        var waiting = await c.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{Id(third)}");
        Assert.Equal(2, waiting.GetProperty("data").GetProperty("queue_position").GetInt32());

        var done = new List<PolledTask>();
        foreach (var id in new[] { Id(first), Id(second), Id(third) }) done.Add(await TaskPolling.PollAsync(c, id));
        Assert.All(done, d => Assert.Equal("completed", d.Status));
        Assert.True(Ts(done[1], "task_started") >= Ts(done[0], "task_completed"));
        Assert.True(Ts(done[2], "task_started") >= Ts(done[1], "task_completed"));
        Assert.Contains("Before this you said: \"hello two\"", done[2].Text());
    }

    [Theory]
    [InlineData("enqueue")]
    [InlineData("interrupt")]
    [InlineData("rollback")]
    public async Task SendsAllAtOnce_AreAllAccepted_AndRun_NeverTwoAtATime(string mode)
    {
        var c = await app.ClientForAsync("dt-race-" + mode);
        var first = await SendAsync(c, new { message = mode == "enqueue" ? "count to 200" : "count to 3000" });
        var conversation = first.GetProperty("conversation_id").GetString()!;
        await StreamingAsync(c, Id(first));
        var sends = Enumerable.Range(1, 6).Select(i => SendAsync(c, new { message = $"hello {i}", conversation_id = conversation, if_busy = mode }));
        var ids = (await Task.WhenAll(sends)).Select(Id).ToList();

        var stopped = await TaskPolling.PollAsync(c, Id(first));
        Assert.Equal(mode == "enqueue" ? "completed" : "cancelled", stopped.Status);
        var runs = new List<(double Start, double End)> { (Ts(stopped, "task_started"), stopped.Events[^1].GetProperty("ts").GetDouble()) };
        var outcomes = new List<string>();
        foreach (var id in ids)
        {
            // Queued behind the first task, or (interrupt, rollback) behind one that started meanwhile, which it then stopped.
            var d = await TaskPolling.PollAsync(c, id);
            outcomes.Add(d.Status);
            if (d.Types.Contains("task_started")) runs.Add((Ts(d, "task_started"), d.Events[^1].GetProperty("ts").GetDouble()));
        }
        Assert.All(outcomes, o => Assert.Contains(o, new[] { "completed", "cancelled" }));
        Assert.Contains("completed", outcomes);
        if (mode == "enqueue") Assert.All(outcomes, o => Assert.Equal("completed", o));
        var ordered = runs.OrderBy(r => r.Start).ToList();
        for (var i = 1; i < ordered.Count; i++) Assert.True(ordered[i].Start >= ordered[i - 1].End, "two tasks of one conversation overlapped");
        var turns = (await c.GetFromJsonAsync<JsonElement>($"/api/v1/conversations/{conversation}/tasks")).GetProperty("items");
        Assert.Equal(7, turns.GetArrayLength());
        // The stopped turn is in the history once (interrupt), or not at all (rollback, enqueue: it completed and wrote its own).
        var history = await app.Services.GetRequiredService<ITaskStore>().LoadHistoryAsync("dt-race-" + mode, conversation, 1000, TestContext.Current.CancellationToken);
        Assert.Equal(mode == "rollback" ? 0 : 1, history.Count(h => h.Role == "user" && h.Content.Contains("count to ")));
    }

    [Fact]
    public async Task DeletingTheRunningTask_StartsTheNextQueuedMessage()
    {
        var c = await app.ClientForAsync("dt-delete");
        var first = await SendAsync(c, new { message = "count to 3000" });
        var conversation = first.GetProperty("conversation_id").GetString()!;
        await StreamingAsync(c, Id(first));
        var next = await SendAsync(c, new { message = "hello after", conversation_id = conversation, if_busy = "enqueue" });
        await c.DeleteAsync($"/agent/session/dt-delete/{conversation}/{Id(first)}");
        Assert.Equal("completed", (await TaskPolling.PollAsync(c, Id(next))).Status);
    }

    [Fact]
    public async Task Interrupt_StopsTheRunningTask_KeepsWhatItWrote_AndTheNewTaskSeesIt()
    {
        var c = await app.ClientForAsync("dt-interrupt");
        var first = await SendAsync(c, new { message = "count to 3000" });
        var conversation = first.GetProperty("conversation_id").GetString()!;
        await StreamingAsync(c, Id(first));
        var second = await SendAsync(c, new { message = "what did I say before?", conversation_id = conversation, if_busy = "interrupt" });

        var stopped = await TaskPolling.PollAsync(c, Id(first));
        Assert.Equal("cancelled", stopped.Status);
        var written = stopped.Text();
        Assert.StartsWith("1 2 3", written);
        Assert.DoesNotContain(" 3000", written);
        var next = await TaskPolling.PollAsync(c, Id(second));
        Assert.Equal("completed", next.Status);
        Assert.True(Ts(next, "task_started") >= Ts(stopped, "task_cancelled"));
        Assert.Contains("Before this you said: \"count to 3000\"", next.Text());

        // The stopped turn is in the history for later turns too.
        var third = await SendAsync(c, new { message = "what did I say before?", conversation_id = conversation });
        Assert.Contains("Before this you said: \"what did I say before?\"", (await TaskPolling.PollAsync(c, Id(third))).Text());
    }

    [Fact]
    public async Task Rollback_CancelsTheRunningTask_AndItsTurnIsGoneFromTheHistory()
    {
        var c = await app.ClientForAsync("dt-rollback");
        var opening = await SendAsync(c, new { message = "my name is Ada" });
        var conversation = opening.GetProperty("conversation_id").GetString()!;
        await TaskPolling.PollAsync(c, Id(opening));
        var first = await SendAsync(c, new { message = "count to 3000", conversation_id = conversation });
        await StreamingAsync(c, Id(first));
        var second = await SendAsync(c, new { message = "what did I say before?", conversation_id = conversation, if_busy = "rollback" });

        Assert.Equal("cancelled", (await TaskPolling.PollAsync(c, Id(first))).Status);
        var next = await TaskPolling.PollAsync(c, Id(second));
        Assert.Equal("completed", next.Status);
        Assert.Contains("Before this you said: \"my name is Ada\"", next.Text());
    }

    [Theory]
    [InlineData("rollback", "my name is Bo")]
    [InlineData("interrupt", "write file dt.txt with x")]
    public async Task ATaskWaitingForApproval_IsStoppedAtOnce_AndTheNewMessageStartsInTheSameStep(string mode, string previous)
    {
        var c = await app.ClientForAsync("dt-waiting-" + mode);
        var opening = await SendAsync(c, new { message = "my name is Bo" });
        var conversation = opening.GetProperty("conversation_id").GetString()!;
        await TaskPolling.PollAsync(c, Id(opening));
        var first = await SendAsync(c, new { message = "write file dt.txt with x", conversation_id = conversation });
        await TaskPolling.PollAsync(c, Id(first), t => t.Status == "interrupted");

        var second = await SendAsync(c, new { message = "what did I say before?", conversation_id = conversation, if_busy = mode });
        var stopped = await TaskPolling.PollAsync(c, Id(first));
        Assert.Equal("cancelled", stopped.Status);
        Assert.Contains($"if_busy={mode}", stopped.Events[^1].GetProperty("data").GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await c.PostAsJsonAsync($"/api/v1/tasks/{Id(first)}/resume", new { response_type = "accept" })).StatusCode);
        var next = await TaskPolling.PollAsync(c, Id(second));
        Assert.Equal("completed", next.Status);
        Assert.Contains($"Before this you said: \"{previous}\"", next.Text());
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/api/v1/files/download?path=dt.txt")).StatusCode);
    }

    [Fact]
    public async Task IfBusy_Reject_IsTheDefault409_AnUnknownValueIs400_AndTheAgentApiTakesIt()
    {
        var c = await app.ClientForAsync("dt-agent");
        var first = await SendAsync(c, new { message = "count to 300" });
        var conversation = first.GetProperty("conversation_id").GetString()!;
        var rejected = await c.PostAsJsonAsync("/api/v1/messages", new { message = "x", conversation_id = conversation, if_busy = "reject" });
        Assert.Equal(HttpStatusCode.Conflict, rejected.StatusCode);
        Assert.Contains("if_busy", (await rejected.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        var bad = await c.PostAsJsonAsync("/api/v1/messages", new { message = "x", conversation_id = conversation, if_busy = "later" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(1, (await c.GetFromJsonAsync<JsonElement>($"/api/v1/conversations/{conversation}/tasks")).GetProperty("items").GetArrayLength());

        await c.PostJsonAsync("/agent/invoke", new { user_id = "dt-agent", session_id = conversation, task_id = "dt-agent-2", query = "hello", if_busy = "enqueue" }, 200);
        var status = await c.GetFromJsonAsync<JsonElement>($"/agent/status/dt-agent/{conversation}/dt-agent-2");
        Assert.Equal("running", status.GetProperty("status").GetString());
        Assert.Equal("completed", (await TaskPolling.PollAsync(c, "dt-agent-2")).Status);
    }
}
