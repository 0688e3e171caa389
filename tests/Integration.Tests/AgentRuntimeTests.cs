using System.Diagnostics;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>The agent loop with the local model on the embedded default: history, run modes, cancel.</summary>
public sealed class AgentRuntimeTests(EmbeddedApp app) : IClassFixture<EmbeddedApp>
{
    private static async Task<(string TaskId, string Conversation)> SendAsync(HttpClient c, object body)
    {
        var r = await c.PostJsonAsync("/api/v1/messages", body, 202);
        return (r.GetProperty("task_id").GetString()!, r.GetProperty("conversation_id").GetString()!);
    }

    [Fact]
    public async Task SecondMessage_InTheSameConversation_SeesTheFirstOne()
    {
        var c = await app.ClientForAsync("history-user");
        var (t1, conv) = await SendAsync(c, new { message = "my code word is pelican" });
        await TaskPolling.PollAsync(c, t1);
        var (t2, _) = await SendAsync(c, new { message = "what did I say before?", conversation_id = conv });
        var second = await TaskPolling.PollAsync(c, t2);
        Assert.Contains("pelican", second.Text());

        // A new conversation has no such history.
        var (t3, _) = await SendAsync(c, new { message = "what did I say before?" });
        var fresh = await TaskPolling.PollAsync(c, t3);
        Assert.DoesNotContain("pelican", fresh.Text());
    }

    [Fact]
    public async Task RunModes_ThinkingAndDeepThinkAloud_FastDoesNot_AndRunModeBeatsThinkingMode()
    {
        var c = await app.ClientForAsync("modes-user");
        async Task<PolledTask> Run(object body) => await TaskPolling.PollAsync(c, (await SendAsync(c, body)).TaskId);

        var fast = await Run(new { message = "hi", run_mode = "fast" });
        var thinking = await Run(new { message = "hi", run_mode = "thinking" });
        var deep = await Run(new { message = "hi", run_mode = "deep" });
        var byFlag = await Run(new { message = "hi", thinking_mode = true });
        var precedence = await Run(new { message = "hi", run_mode = "fast", thinking_mode = true });

        int Thoughts(PolledTask t) => t.Types.Count(x => x == "thinking_chunk");
        Assert.Equal(0, Thoughts(fast));
        Assert.True(Thoughts(thinking) > 0);
        Assert.True(Thoughts(deep) > Thoughts(thinking));
        Assert.True(Thoughts(byFlag) > 0);
        Assert.Equal(0, Thoughts(precedence));
        Assert.Equal("deep", deep.Events[0].GetProperty("data").GetProperty("run_mode").GetString());
        Assert.Equal("fast", precedence.Events[0].GetProperty("data").GetProperty("run_mode").GetString());
    }

    [Fact]
    public async Task Cancel_DuringASlowStream_StopsTheAnswerPartWay_EndsWithTaskCancelled_AndNothingFollows()
    {
        var c = await app.ClientForAsync("cancel-user");
        var (taskId, _) = await SendAsync(c, new { message = "count to 5000" });
        await TaskPolling.PollAsync(c, taskId, t => t.Types.Count(x => x == "text_chunk") >= 5);

        var cancel = await c.PostJsonAsync($"/api/v1/tasks/{taskId}/cancel", new { }, 200);
        Assert.True(cancel.GetProperty("success").GetBoolean());
        // The whole answer streams for ~25 s; the cancel ends it part-way (how fast is a benchmark figure: bench "cancel").
        var ended = await TaskPolling.PollAsync(c, taskId, timeout: TimeSpan.FromSeconds(10));
        Assert.InRange(ended.Types.Count(x => x == "text_chunk"), 5, 4999);
        Assert.DoesNotContain(" 5000", ended.Text());
        Assert.Equal("task_cancelled", ended.Types.Last());
        Assert.Equal("cancelled", ended.Status);

        await Task.Delay(300);
        var after = await TaskPolling.PollAsync(c, taskId);
        Assert.Equal(ended.Events.Count, after.Events.Count);

        // Cancelling again, or cancelling a finished task, is harmless and changes nothing.
        var again = await c.PostJsonAsync($"/api/v1/tasks/{taskId}/cancel", new { }, 200);
        Assert.Equal("cancelled", again.GetProperty("status").GetString());
        var (done, _) = await SendAsync(c, new { message = "short one" });
        var finished = await TaskPolling.PollAsync(c, done);
        var late = await c.PostJsonAsync($"/api/v1/tasks/{done}/cancel", new { }, 200);
        Assert.Equal("completed", late.GetProperty("status").GetString());
        Assert.Equal(finished.Events.Count, (await TaskPolling.PollAsync(c, done)).Events.Count);
    }

    [Fact]
    public async Task Cancel_ThenANewMessageInTheSameConversation_IsAccepted()
    {
        var c = await app.ClientForAsync("cancel-then-send");
        var (taskId, conv) = await SendAsync(c, new { message = "count to 5000" });
        await c.PostJsonAsync($"/api/v1/tasks/{taskId}/cancel", new { }, 200);
        await TaskPolling.PollAsync(c, taskId);
        var (next, _) = await SendAsync(c, new { message = "are you there", conversation_id = conv });
        Assert.Equal("completed", (await TaskPolling.PollAsync(c, next)).Status);
    }

    [Fact]
    public async Task CompletedResult_ReportsUsageAndIterations()
    {
        var c = await app.ClientForAsync("usage-user");
        var (taskId, _) = await SendAsync(c, new { message = "tell me something" });
        var t = await TaskPolling.PollAsync(c, taskId);
        var result = t.Events[^1].GetProperty("data").GetProperty("result");
        Assert.Equal(1, result.GetProperty("iterations").GetInt32());
        Assert.False(result.GetProperty("stopped_at_limit").GetBoolean());
        Assert.True(result.GetProperty("usage").GetProperty("output_tokens").GetInt32() > 0);
        Assert.Equal(JsonValueKind.Array, result.GetProperty("files").ValueKind);
    }
}
