using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Streaming.Tests;

/// <summary>Following tasks live through the gateway, on the distributed setup (real RabbitMQ and PostgreSQL).</summary>
public sealed class GatewayStreamingTests(StreamingFixture fx) : IClassFixture<StreamingFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Sse_ReaderDropsMidStream_ReconnectsWithLastEventId_SeesEveryEventExactlyOnce()
    {
        using var http = await fx.ClientAsync("sse-resume");
        var id = await http.StartTaskAsync("count to 40");

        var seen = new List<SseEvent>();
        using (var first = await http.OpenSseReaderAsync(id))
        {
            while (seen.Count < 8 && await first.NextAsync() is { } e) seen.Add(e);
        } // dropped mid-stream: the connection is gone while the task keeps running
        Assert.DoesNotContain(seen, e => StreamClient.TerminalTypes.Contains(e.Type));
        await Task.Delay(300);

        // As a browser's EventSource reconnects: same URL, Last-Event-ID set to the last id it saw.
        using (var second = await http.OpenSseReaderAsync(id, lastEventId: seen[^1].Idx, query: "?from=0"))
            seen.AddRange((await second.ReadToEndAsync(Long)).Select(x => x.Event));

        Assert.Equal(Enumerable.Range(0, seen.Count).Select(i => (long)i), seen.Select(e => e.Idx));
        Assert.Equal("task_completed", seen[^1].Type);
        Assert.Equal(string.Join(' ', Enumerable.Range(1, 40)),
            string.Concat(seen.Where(e => e.Type == "text_chunk").Select(e => e.Json.GetProperty("data").GetProperty("content").GetString())));

        // Each event's data is exactly the event object polling returns.
        var polled = await TaskPolling.PollAsync(http, id);
        Assert.Equal(polled.Events.Count, seen.Count);
        for (var i = 0; i < seen.Count; i++)
        {
            Assert.Equal(polled.Events[i].Type(), seen[i].Type);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(polled.Events[i].GetRawText()), JsonNode.Parse(seen[i].Data)), $"event {i}: {seen[i].Data}");
        }
    }

    [Fact]
    public async Task Sse_EventsArriveLiveThroughTheGateway_AndTheStreamClosesAfterTheTerminalEvent()
    {
        using var http = await fx.ClientAsync("sse-live");
        var id = await http.StartTaskAsync("count to 30");
        using var reader = await http.OpenSseReaderAsync(id);
        var events = await reader.ReadToEndAsync(Long); // returns only because the server ended the stream

        Assert.Equal("task_completed", events[^1].Event.Type);
        Assert.Equal(1, events.Count(e => StreamClient.TerminalTypes.Contains(e.Event.Type)));
        Assert.Equal(3000, reader.Retry);
        // 30 chunks 40 ms apart: unbuffered, the first and the last arrive about a second apart; buffered, together.
        var firstChunk = events.First(e => e.Event.Type == "text_chunk").At;
        var spread = events[^1].At - firstChunk;
        Assert.True(spread > TimeSpan.FromMilliseconds(30 * StreamingFixture.ChunkDelayMs / 2), $"events arrived within {spread.TotalMilliseconds} ms of each other: buffered?");

        // Reconnecting after the end (Last-Event-ID = the terminal event) gets nothing, and the stream ends at once.
        var clock = Stopwatch.StartNew();
        using var again = await http.OpenSseReaderAsync(id, lastEventId: events[^1].Event.Idx);
        Assert.Empty(await again.ReadToEndAsync(TimeSpan.FromSeconds(10)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Sse_IdleStream_GetsKeepAliveComments_AndWakesWhenTheTaskResumes()
    {
        using var http = await fx.ClientAsync("sse-idle");
        var (id, next) = await http.StartInterruptedTaskAsync();
        using var reader = await http.OpenSseReaderAsync(id, query: $"?from={next}");
        var resumeAt = Stopwatch.StartNew();
        var read = reader.NextAsync();
        await Task.Delay(2500); // Streaming:KeepAliveSeconds is 1 in this setup
        Assert.False(read.IsCompleted);
        await http.ResumeAsync(id);
        resumeAt.Restart();
        var resumed = await read.WaitAsync(Long);
        // The re-check runs once a minute here: this fast, only the bus notification can have woken the stream.
        Assert.True(resumeAt.Elapsed < TimeSpan.FromSeconds(5), $"woke after {resumeAt.Elapsed}");
        Assert.Equal("resumed", resumed!.Type);
        Assert.Equal(next, resumed.Idx);
        var rest = await reader.ReadToEndAsync(Long);
        Assert.Equal("task_completed", rest[^1].Event.Type);
        Assert.True(reader.Comments >= 2, $"{reader.Comments} keep-alive comments");
    }

    [Fact]
    public async Task Sse_WithAccessTokenInQuery_Streams_OtherUsersTask404_BadOffsets400_NoToken401()
    {
        using var owner = await fx.ClientAsync("sse-owner");
        using var other = await fx.ClientAsync("sse-other");
        var id = await owner.StartTaskAsync("count to 3");
        await TaskPolling.PollAsync(owner, id);

        // EventSource cannot send headers: the token goes in the query.
        var token = owner.DefaultRequestHeaders.Authorization!.Parameter!;
        using var anon = new HttpClient { BaseAddress = new Uri(fx.Gateway.BaseUrl) };
        using (var reader = await anon.OpenSseReaderAsync(id, query: "?access_token=" + token))
            Assert.Equal("task_completed", (await reader.ReadToEndAsync(Long))[^1].Event.Type);

        await AssertErrorAsync(await other.OpenSseAsync(id), HttpStatusCode.NotFound);
        await AssertErrorAsync(await owner.OpenSseAsync("no-such-task"), HttpStatusCode.NotFound);
        await AssertErrorAsync(await owner.OpenSseAsync(id, query: "?from=-1"), HttpStatusCode.BadRequest);
        var badLast = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/tasks/{id}/events");
        badLast.Headers.Add("Last-Event-ID", "abc");
        await AssertErrorAsync(await owner.SendAsync(badLast), HttpStatusCode.BadRequest);
        await AssertErrorAsync(await anon.OpenSseAsync(id), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task WebSocket_ReceivesEveryEvent_ThenTheServerClosesNormally()
    {
        using var http = await fx.ClientAsync("ws-all");
        var id = await http.StartTaskAsync("count to 20");
        using var ws = await StreamClient.ConnectWebSocketAsync(fx.Gateway.BaseUrl, http.DefaultRequestHeaders.Authorization!.Parameter!, id);
        var got = new List<JsonElement>();
        while (await ws.ReceiveJsonAsync(Long) is { } e) got.Add(e);

        Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus);
        Assert.Equal(Enumerable.Range(0, got.Count).Select(i => (long)i), got.Select(e => e.Idx()));
        Assert.Equal("task_completed", got[^1].Type());
        var polled = await TaskPolling.PollAsync(http, id);
        Assert.Equal(polled.Events.Select(e => e.GetRawText()), got.Select(e => e.GetRawText()));
    }

    [Fact]
    public async Task WebSocket_StartsAtAnOffset_ResubscribesOnRequest_AndFollowsTheResumedTaskToTheEnd()
    {
        using var http = await fx.ClientAsync("ws-offset");
        var (id, next) = await http.StartInterruptedTaskAsync();
        var token = http.DefaultRequestHeaders.Authorization!.Parameter!;
        using var ws = await StreamClient.ConnectWebSocketAsync(fx.Gateway.BaseUrl, token, id, "?from=1");

        var first = new List<long>();
        for (var i = 1; i < next; i++) first.Add((await ws.ReceiveJsonAsync(Long))!.Value.Idx());
        Assert.Equal(Enumerable.Range(1, (int)next - 1).Select(i => (long)i), first);

        await ws.SendJsonAsync(new { from = 0 });
        var again = new List<JsonElement>();
        for (var i = 0; i < next; i++) again.Add((await ws.ReceiveJsonAsync(Long))!.Value);
        Assert.Equal(Enumerable.Range(0, (int)next).Select(i => (long)i), again.Select(e => e.Idx()));
        Assert.Equal("interrupt", again[^1].Type());

        await http.ResumeAsync(id);
        var rest = new List<JsonElement>();
        while (await ws.ReceiveJsonAsync(Long) is { } e) rest.Add(e);
        Assert.Equal(next, rest[0].Idx());
        Assert.Equal("resumed", rest[0].Type());
        Assert.Equal("task_completed", rest[^1].Type());
        Assert.Equal(Enumerable.Range((int)next, rest.Count).Select(i => (long)i), rest.Select(e => e.Idx()));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus);
    }

    [Fact]
    public async Task WebSocket_MalformedClientMessage_ClosesWithPolicyViolation_AndOtherUsersTaskIsRefused()
    {
        using var http = await fx.ClientAsync("ws-bad");
        using var other = await fx.ClientAsync("ws-bad-other");
        var (id, _) = await http.StartInterruptedTaskAsync();
        using var ws = await StreamClient.ConnectWebSocketAsync(fx.Gateway.BaseUrl, http.DefaultRequestHeaders.Authorization!.Parameter!, id);
        while (await ws.ReceiveJsonAsync(Long) is { } e && e.Type() != "interrupt") { }
        await ws.SendJsonAsync(new { from = "zero" });
        Assert.Null(await ws.ReceiveJsonAsync(Long));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, ws.CloseStatus);

        using var refused = new ClientWebSocket();
        var ex = await Assert.ThrowsAnyAsync<WebSocketException>(() => StreamClient.ConnectWebSocketAsync(
            fx.Gateway.BaseUrl, other.DefaultRequestHeaders.Authorization!.Parameter!, id));
        Assert.Contains("404", ex.Message);
    }

    [Fact]
    public async Task LongPoll_ReturnsEarly_WhenAnEventArrives()
    {
        using var http = await fx.ClientAsync("lp-early");
        var (id, next) = await http.StartInterruptedTaskAsync();
        var clock = Stopwatch.StartNew();
        var poll = http.GetAsync($"/api/v1/tasks/{id}?from={next}&wait=10");
        await Task.Delay(1000);
        Assert.False(poll.IsCompleted);
        await http.ResumeAsync(id);
        var data = await DataAsync(await poll);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"answered after {clock.Elapsed} (wait=10)");
        var events = data.GetProperty("events");
        Assert.Equal(next, events[0].Idx());
        Assert.Equal("resumed", events[0].Type());
        Assert.Equal("running", data.GetProperty("status").GetString());
        Assert.Equal(next + events.GetArrayLength(), data.GetProperty("next_offset").GetInt64());
    }

    [Fact]
    public async Task LongPoll_ReturnsOnTime_WhenNoEventArrives_AndRejectsAWaitOutOfRange()
    {
        using var http = await fx.ClientAsync("lp-timeout");
        var (id, next) = await http.StartInterruptedTaskAsync();
        var clock = Stopwatch.StartNew();
        var data = await DataAsync(await http.GetAsync($"/api/v1/tasks/{id}?from={next}&wait=2"));
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2), $"answered after {clock.Elapsed} (wait=2)");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"answered after {clock.Elapsed} (wait=2)");
        Assert.Equal(0, data.GetProperty("events").GetArrayLength());
        Assert.Equal(next, data.GetProperty("next_offset").GetInt64());
        Assert.Equal("interrupted", data.GetProperty("status").GetString());

        // Events already there: no waiting at all.
        clock.Restart();
        var now = await DataAsync(await http.GetAsync($"/api/v1/tasks/{id}?from=0&wait=10"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"answered after {clock.Elapsed}");
        Assert.Equal(next, now.GetProperty("events").GetArrayLength());

        foreach (var bad in new[] { "31", "-1", "abc", "1.5" })
            await AssertErrorAsync(await http.GetAsync($"/api/v1/tasks/{id}?from={next}&wait={bad}"), HttpStatusCode.BadRequest);
    }

    private static async Task<JsonElement> DataAsync(HttpResponseMessage resp)
    {
        var body = await resp.Content.ReadAsStringAsync();
        Assert.True(resp.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("data").Clone();
    }

    private static async Task AssertErrorAsync(HttpResponseMessage resp, HttpStatusCode status)
    {
        var body = await resp.Content.ReadAsStringAsync();
        Assert.Equal(status, resp.StatusCode);
        Assert.Equal("application/json", resp.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.False(json.GetProperty("success").GetBoolean());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("error").GetString()));
    }
}
