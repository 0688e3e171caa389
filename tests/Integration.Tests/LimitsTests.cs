using System.Net;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>The embedded default with limits low enough to reach: events and bytes per task, storage per user.</summary>
public sealed class LowLimitsApp : EmbeddedApp
{
    protected override IEnumerable<(string Key, string Value)> Settings =>
    [
        ("Worker:MaxEventsPerTask", "40"),
        ("Worker:MaxEventBytesPerTask", "1000000"),
        ("FileStorage:QuotaBytesPerUser", "1000"),
    ];
}

public sealed class LowEventBytesApp : EmbeddedApp
{
    protected override IEnumerable<(string Key, string Value)> Settings => [("Worker:MaxEventBytesPerTask", "2048")];
}

public sealed class LimitsTests(LowLimitsApp app, LowEventBytesApp bytesApp) : IClassFixture<LowLimitsApp>, IClassFixture<LowEventBytesApp>
{
    [Fact]
    public async Task ATaskThatWritesTooManyEvents_EndsWithTaskFailed_SayingWhichLimit()
    {
        var c = await app.ClientForAsync("chatty");
        var id = (await c.PostJsonAsync("/api/v1/messages", new { message = "count to 5000" }, 202)).GetProperty("task_id").GetString()!;
        var t = await TaskPolling.PollAsync(c, id);
        Assert.Equal("error", t.Status);
        Assert.Equal("task_failed", t.Types.Last());
        Assert.Contains("Worker:MaxEventsPerTask", t.Events[^1].GetProperty("data").GetProperty("error").GetString());
        Assert.True(t.Events.Count <= 41, $"{t.Events.Count} events");
    }

    [Fact]
    public async Task ATaskThatWritesTooManyBytes_EndsWithTaskFailed_SayingWhichLimit()
    {
        var c = await bytesApp.ClientForAsync("wordy");
        var id = (await c.PostJsonAsync("/api/v1/messages", new { message = "count to 5000" }, 202)).GetProperty("task_id").GetString()!;
        var t = await TaskPolling.PollAsync(c, id);
        Assert.Equal("error", t.Status);
        Assert.Contains("Worker:MaxEventBytesPerTask", t.Events[^1].GetProperty("data").GetProperty("error").GetString());
        var bytes = t.Events.SkipLast(1).Sum(e => e.GetProperty("data").GetRawText().Length);
        Assert.True(bytes <= 2048 + 200, $"{bytes} bytes of events");
    }

    [Fact]
    public async Task UploadsBeyondTheStorageQuota_Get413WithWhatIsUsed_AndChangeNothing()
    {
        var c = await app.ClientForAsync("hoarder");
        async Task<(HttpStatusCode Status, JsonElement Body)> Upload(string name, int bytes)
        {
            using var form = new MultipartFormDataContent { { new ByteArrayContent(new byte[bytes]), "file", name } };
            using var r = await c.PostAsync("/api/v1/files/upload", form);
            return (r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone());
        }

        Assert.Equal(HttpStatusCode.OK, (await Upload("a.bin", 600)).Status);
        var refused = await Upload("b.bin", 500);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.Status);
        Assert.False(refused.Body.GetProperty("success").GetBoolean());
        Assert.Contains("you use 600 of 1000 bytes", refused.Body.GetProperty("error").GetString());
        var list = JsonDocument.Parse(await c.GetStringAsync("/api/v1/files")).RootElement.GetRawText();
        Assert.DoesNotContain("b.bin", list);
        // Replacing a file counts only the difference; another user has their own quota.
        Assert.Equal(HttpStatusCode.OK, (await Upload("a.bin", 900)).Status);
        Assert.Equal(HttpStatusCode.OK, (await (await app.ClientForAsync("other-hoarder")).PostAsync("/api/v1/files/upload",
            new MultipartFormDataContent { { new ByteArrayContent(new byte[900]), "file", "c.bin" } })).StatusCode);
    }
}
