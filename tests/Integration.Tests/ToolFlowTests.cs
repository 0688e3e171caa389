using System.Net.Http.Json;
using System.Net;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>Tools, approvals and memory with the local model on the embedded default: what a user watches in the log.</summary>
public sealed class ToolFlowTests(EmbeddedApp app) : IClassFixture<EmbeddedApp>
{
    private static async Task<string> SendAsync(HttpClient c, object body) =>
        (await c.PostJsonAsync("/api/v1/messages", body, 202)).GetProperty("task_id").GetString()!;

    [Theory]
    [InlineData("accept")]
    [InlineData("approve")]
    public async Task WriteFile_NeedsApproval_ThenWritesTheFile_WhichTheUserDownloads(string decision)
    {
        var c = await app.ClientForAsync("writer-" + decision);
        var id = await SendAsync(c, new { message = "write file notes/plan.txt with buy oolong tea" });
        var waiting = await TaskPolling.PollAsync(c, id, t => t.Status == "interrupted");
        var interrupt = waiting.Events.Last(e => e.GetProperty("type").GetString() == "interrupt").GetProperty("data");
        Assert.Equal("write_file", interrupt.GetProperty("name").GetString());
        Assert.Equal("notes/plan.txt", interrupt.GetProperty("arguments").GetProperty("path").GetString());
        Assert.Equal("write_file", interrupt.GetProperty("action_request").GetProperty("action").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/api/v1/files/download?path=notes/plan.txt")).StatusCode);

        await c.PostJsonAsync($"/api/v1/tasks/{id}/resume", new { response_type = decision }, 200);
        var done = await TaskPolling.PollAsync(c, id);
        Assert.Equal("completed", done.Status);
        var types = done.Types.ToList();
        Assert.True(types.IndexOf("resumed") < types.IndexOf("tool_start"), string.Join(",", types));
        var toolEnd = done.Events.Last(e => e.GetProperty("type").GetString() == "tool_end").GetProperty("data");
        Assert.True(toolEnd.GetProperty("ok").GetBoolean());
        Assert.Equal("buy oolong tea", await c.GetStringAsync("/api/v1/files/download?path=notes/plan.txt"));
        Assert.Contains("notes/plan.txt", done.Events[^1].GetProperty("data").GetProperty("result").GetProperty("files")[0].GetString());
    }

    [Fact]
    public async Task WriteFile_Edited_WritesTheEditedContent_Rejected_WritesNothing_Respond_GivesTheModelTheText()
    {
        var c = await app.ClientForAsync("decider");
        var edit = await SendAsync(c, new { message = "write file a.txt with original" });
        await TaskPolling.PollAsync(c, edit, t => t.Status == "interrupted");
        await c.PostJsonAsync($"/api/v1/tasks/{edit}/resume", new { response_type = "edit", args = new { path = "b.txt", content = "edited" } }, 200);
        Assert.Equal("completed", (await TaskPolling.PollAsync(c, edit)).Status);
        Assert.Equal("edited", await c.GetStringAsync("/api/v1/files/download?path=b.txt"));
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/api/v1/files/download?path=a.txt")).StatusCode);

        var reject = await SendAsync(c, new { message = "write file c.txt with nope" });
        await TaskPolling.PollAsync(c, reject, t => t.Status == "interrupted");
        var bad = await c.PostAsJsonAsync($"/api/v1/tasks/{reject}/resume", new { response_type = "maybe" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        await c.PostJsonAsync($"/api/v1/tasks/{reject}/resume", new { response_type = "reject", args = new { reason = "not now" } }, 200);
        var rejected = await TaskPolling.PollAsync(c, reject);
        Assert.Contains("rejected", rejected.Text());
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/api/v1/files/download?path=c.txt")).StatusCode);
        var again = await c.PostAsJsonAsync($"/api/v1/tasks/{reject}/resume", new { response_type = "accept" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);

        var respond = await SendAsync(c, new { message = "write file d.txt with x" });
        await TaskPolling.PollAsync(c, respond, t => t.Status == "interrupted");
        await c.PostJsonAsync($"/api/v1/tasks/{respond}/resume", new { response_type = "response", args = new { response = "I wrote it myself" } }, 200);
        Assert.Contains("I wrote it myself", (await TaskPolling.PollAsync(c, respond)).Text());
    }

    [Fact]
    public async Task CancellingAnInterruptedTask_CancelsIt_WritesNothing_AndItCanNoLongerBeResumed()
    {
        var c = await app.ClientForAsync("cancel-interrupted");
        var id = await SendAsync(c, new { message = "write file never.txt with nope" });
        var waiting = await TaskPolling.PollAsync(c, id, t => t.Status == "interrupted");
        var cancel = await c.PostJsonAsync($"/api/v1/tasks/{id}/cancel", new { }, 200);
        Assert.Equal("cancelled", cancel.GetProperty("status").GetString());

        var done = await TaskPolling.PollAsync(c, id);
        Assert.Equal("cancelled", done.Status);
        Assert.Equal(waiting.Events.Count + 1, done.Events.Count);
        Assert.Equal("task_cancelled", done.Types.Last());
        var resume = await c.PostAsJsonAsync($"/api/v1/tasks/{id}/resume", new { response_type = "accept" });
        Assert.Equal(HttpStatusCode.Conflict, resume.StatusCode);
        await Task.Delay(300);
        Assert.Equal(done.Events.Count, (await TaskPolling.PollAsync(c, id)).Events.Count);
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/api/v1/files/download?path=never.txt")).StatusCode);
    }

    [Fact]
    public async Task TwentyConcurrentResumes_ExactlyOneIsAccepted()
    {
        var c = await app.ClientForAsync("racer");
        var id = await SendAsync(c, new { message = "write file race.txt with go" });
        await TaskPolling.PollAsync(c, id, t => t.Status == "interrupted");
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => c.PostAsJsonAsync($"/api/v1/tasks/{id}/resume", new { response_type = "accept" })));
        Assert.Single(results, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(results.Where(r => r.StatusCode != HttpStatusCode.OK), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
        var done = await TaskPolling.PollAsync(c, id);
        Assert.Single(done.Types, t => t == "resumed");
    }

    [Fact]
    public async Task KeepCallingTools_StopsAtMaxIterations_WithAResultThatSaysSo()
    {
        var c = await app.ClientForAsync("looper");
        var id = await SendAsync(c, new { message = "keep listing files", max_iterations = 3 });
        var t = await TaskPolling.PollAsync(c, id);
        Assert.Equal("completed", t.Status);
        Assert.Equal(3, t.Types.Count(x => x == "tool_start"));
        var result = t.Events[^1].GetProperty("data").GetProperty("result");
        Assert.True(result.GetProperty("stopped_at_limit").GetBoolean());
        Assert.Contains("limit of 3", result.GetProperty("text").GetString());
    }

    [Fact]
    public async Task ReadingAMissingFile_IsAToolError_TheModelSees_NotACrash()
    {
        var c = await app.ClientForAsync("reader");
        var t = await TaskPolling.PollAsync(c, await SendAsync(c, new { message = "read file nothing/here.txt" }));
        Assert.Equal("completed", t.Status);
        var end = t.Events.Single(e => e.GetProperty("type").GetString() == "tool_end").GetProperty("data");
        Assert.False(end.GetProperty("ok").GetBoolean());
        Assert.Contains("failed", t.Text());
    }

    [Fact]
    public async Task Remembered_InOneConversation_IsRecalledInANewOne_ButNotByAnotherUser()
    {
        var alice = await app.ClientForAsync("mem-alice");
        var bob = await app.ClientForAsync("mem-bob");
        var saved = await TaskPolling.PollAsync(alice, await SendAsync(alice, new { message = "remember that my favourite tea is oolong" }));
        var end = saved.Events.Single(e => e.GetProperty("type").GetString() == "tool_end").GetProperty("data");
        Assert.Equal("remember", end.GetProperty("name").GetString());
        Assert.True(end.GetProperty("ok").GetBoolean());

        var recalled = await TaskPolling.PollAsync(alice, await SendAsync(alice, new { message = "what do you remember about tea?" }));
        Assert.Contains("oolong", recalled.Text());
        var other = await TaskPolling.PollAsync(bob, await SendAsync(bob, new { message = "what do you remember about tea?" }));
        Assert.DoesNotContain("oolong", other.Text());
    }
}
