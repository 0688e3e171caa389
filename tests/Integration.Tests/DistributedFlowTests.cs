using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>
/// The agent runtime's user-visible flows on the distributed setup: an interrupt resumed through either API continues
/// from its checkpoint on whichever worker takes the ResumeTask; history follows the conversation across workers;
/// cancel works before any worker picked the task up, and is harmless once the task finished.
/// Tests of one class run one after another, so pausing both workers here disturbs no other test.
/// </summary>
public sealed partial class DistributedTests
{
    private const int SigStop = 19, SigCont = 18;

    public static TheoryData<string, string> Decisions => new()
    {
        { "v1", "accept" }, { "agent", "accept" }, { "v1", "edit" }, { "agent", "edit" },
        { "v1", "reject" }, { "agent", "reject" }, { "v1", "respond" }, { "agent", "respond" },
    };

    [Theory, MemberData(nameof(Decisions))]
    public async Task Interrupt_ResumedThroughEitherApi_ContinuesFromTheCheckpoint(string api, string decision)
    {
        var user = $"dist-resume-{api}-{decision}";
        var c = await fx.GatewayClientAsync(user);
        var sent = await c.PostJsonAsync("/api/v1/messages", new { message = "write file drafts/plan.txt with ship it" }, 202);
        var id = sent.GetProperty("task_id").GetString()!;
        var conv = sent.GetProperty("conversation_id").GetString()!;
        var waiting = await TaskPolling.PollAsync(c, id, t => t.Status == "interrupted", TimeSpan.FromSeconds(30));
        var interrupt = waiting.Events.Last(e => e.GetProperty("type").GetString() == "interrupt").GetProperty("data");
        Assert.Equal("write_file", interrupt.GetProperty("name").GetString());
        var eventsBefore = waiting.Events.Count;

        object? args = decision switch
        {
            "edit" => new { path = "drafts/edited.txt", content = "edited by a human" },
            "respond" => new { response = "I will write it myself" },
            "reject" => new { reason = "not today" },
            _ => null,
        };
        if (api == "v1")
            await c.PostJsonAsync($"/api/v1/tasks/{id}/resume", new { response_type = decision, args }, 200);
        else
            await c.PostJsonAsync("/agent/resume", new { user_id = user, session_id = conv, task_id = id, response_type = decision, args }, 200);

        var done = await TaskPolling.PollAsync(c, id, timeout: TimeSpan.FromSeconds(30));
        Assert.Equal("completed", done.Status);
        // Continued, not restarted: the log before the interrupt is unchanged, one task_started, then `resumed`.
        Assert.Equal(waiting.Events.Select(e => e.GetRawText()), done.Events.Take(eventsBefore).Select(e => e.GetRawText()));
        Assert.Single(done.Types, t => t == "task_started");
        Assert.Equal("resumed", done.Types.ElementAt(eventsBefore));
        Assert.Equal(Enumerable.Range(0, done.Events.Count).Select(x => (long)x), done.Events.Select(e => e.GetProperty("idx").GetInt64()));

        var after = done.Events.Skip(eventsBefore).ToList();
        var toolEnds = after.Where(e => e.GetProperty("type").GetString() == "tool_end").Select(e => e.GetProperty("data")).ToList();
        switch (decision)
        {
            case "accept":
                Assert.True(Assert.Single(toolEnds).GetProperty("ok").GetBoolean());
                Assert.Contains("drafts/plan.txt", ResultFiles(done));
                break;
            case "edit":
                Assert.True(Assert.Single(toolEnds).GetProperty("ok").GetBoolean());
                Assert.Contains("drafts/edited.txt", ResultFiles(done));
                Assert.DoesNotContain("drafts/plan.txt", ResultFiles(done));
                break;
            case "reject":
                Assert.DoesNotContain(after, e => e.GetProperty("type").GetString() == "tool_start");
                Assert.Contains("rejected", done.Text());
                break;
            case "respond":
                Assert.DoesNotContain(after, e => e.GetProperty("type").GetString() == "tool_start");
                Assert.Contains("I will write it myself", done.Text());
                break;
        }

        // The agent API reads the same outcome.
        using var status = await c.GetAsync($"/agent/status/{user}/{conv}/{id}");
        Assert.Equal("completed", JsonDocument.Parse(await status.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
    }

    private static List<string> ResultFiles(PolledTask t) =>
        t.Events[^1].GetProperty("data").GetProperty("result").GetProperty("files").EnumerateArray().Select(f => f.GetString()!).ToList();

    [Fact]
    public async Task SecondMessage_SeesTheFirst_WhicheverWorkerRunsIt()
    {
        var c = await fx.GatewayClientAsync("dist-history");
        var conv = (await c.PostJsonAsync("/api/v1/conversations", new { }, 200)).GetProperty("conversation_id").GetString();
        for (var turn = 0; turn < 4; turn++)
        {
            var first = await c.PostJsonAsync("/api/v1/messages", new { message = $"my lucky number is {turn}", conversation_id = conv }, 202);
            await TaskPolling.PollAsync(c, first.GetProperty("task_id").GetString()!, timeout: TimeSpan.FromSeconds(30));
            var second = await c.PostJsonAsync("/api/v1/messages", new { message = "what did I say before?", conversation_id = conv }, 202);
            var answer = await TaskPolling.PollAsync(c, second.GetProperty("task_id").GetString()!, timeout: TimeSpan.FromSeconds(30));
            Assert.Contains($"my lucky number is {turn}", answer.Text());
        }
    }

    [Fact]
    public async Task CancelBeforeAnyWorkerPicksItUp_EndsTheTask_AndNoWorkerRunsItLater()
    {
        var c = await fx.GatewayClientAsync("dist-early-cancel");
        var conv = (await c.PostJsonAsync("/api/v1/conversations", new { }, 200)).GetProperty("conversation_id").GetString();
        foreach (var w in fx.Workers) w.Signal(SigStop);
        string id;
        try
        {
            id = (await c.PostJsonAsync("/api/v1/messages", new { message = "count to 50", conversation_id = conv }, 202)).GetProperty("task_id").GetString()!;
            var cancel = await c.PostJsonAsync($"/api/v1/tasks/{id}/cancel", new { }, 200);
            Assert.Equal("cancelled", cancel.GetProperty("status").GetString());
        }
        finally
        {
            foreach (var w in fx.Workers) w.Signal(SigCont);
        }

        var cancelled = await TaskPolling.PollAsync(c, id, timeout: TimeSpan.FromSeconds(10));
        Assert.Equal("cancelled", cancelled.Status);
        Assert.Equal("task_cancelled", cancelled.Types.Last());
        Assert.DoesNotContain("task_started", cancelled.Types);

        // The RunTask still reaches a worker once they wake up; it must find the task cancelled and leave it alone.
        // A follow-up in the same conversation proves a worker is consuming again (the queue is FIFO).
        var next = await c.PostJsonAsync("/api/v1/messages", new { message = "are you there?", conversation_id = conv }, 202);
        Assert.Equal("completed", (await TaskPolling.PollAsync(c, next.GetProperty("task_id").GetString()!, timeout: TimeSpan.FromSeconds(30))).Status);
        var later = await TaskPolling.PollAsync(c, id);
        Assert.Equal(cancelled.Events.Select(e => e.GetRawText()), later.Events.Select(e => e.GetRawText()));
    }

    [Fact]
    public async Task CancelOfAFinishedTask_ChangesNothing()
    {
        var c = await fx.GatewayClientAsync("dist-late-cancel");
        var id = (await c.PostJsonAsync("/api/v1/messages", new { message = "count to 3" }, 202)).GetProperty("task_id").GetString()!;
        var done = await TaskPolling.PollAsync(c, id, timeout: TimeSpan.FromSeconds(30));
        Assert.Equal("completed", done.Status);

        var cancel = await c.PostJsonAsync($"/api/v1/tasks/{id}/cancel", new { }, 200);
        Assert.Equal("completed", cancel.GetProperty("status").GetString());
        var resume = await c.PostAsJsonAsync($"/api/v1/tasks/{id}/resume", new { response_type = "accept" });
        Assert.Equal(HttpStatusCode.Conflict, resume.StatusCode);
        await Task.Delay(500);
        var after = await TaskPolling.PollAsync(c, id);
        Assert.Equal("completed", after.Status);
        Assert.Equal(done.Events.Select(e => e.GetRawText()), after.Events.Select(e => e.GetRawText()));
    }
}
