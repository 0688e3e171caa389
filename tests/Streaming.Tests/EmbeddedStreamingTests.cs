using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Streaming.Tests;

/// <summary>
/// The embedded default (every service in one process, SQLite, the in-memory bus): the same endpoints, woken by the
/// same notification published on the in-memory bus. The safety re-check is slowed to a minute to prove it.
/// </summary>
public sealed class EmbeddedStreamingTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task EmbeddedHost_SseWebSocketAndLongPoll_AreWokenByTheInMemoryBus()
    {
        var dir = Directory.CreateTempSubdirectory("agents-stream-embedded-").FullName;
        try
        {
            await using var host = await ServiceProcess.StartAsync("Standalone", "Agents.Micro.Standalone", new Dictionary<string, string>
            {
                ["AGENTS_DATA_DIR"] = dir,
                ["LocalModel__ChunkDelayMs"] = "40",
                ["Streaming__RecheckSeconds"] = "60",
            });
            var token = await TestEnv.DevTokenAsync(dir);
            using var http = new HttpClient { BaseAddress = new Uri(host.BaseUrl) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

            // SSE: live, complete, closed after the terminal event.
            var id = await http.StartTaskAsync("count to 25");
            using (var reader = await http.OpenSseReaderAsync(id))
            {
                var events = await reader.ReadToEndAsync(Long);
                Assert.Equal(Enumerable.Range(0, events.Count).Select(i => (long)i), events.Select(e => e.Event.Idx));
                Assert.Equal("task_completed", events[^1].Event.Type);
                var spread = events[^1].At - events.First(e => e.Event.Type == "text_chunk").At;
                Assert.True(spread > TimeSpan.FromMilliseconds(400), $"all events within {spread.TotalMilliseconds} ms: not live");
            }

            // WebSocket: every event, then a normal close.
            var wsId = await http.StartTaskAsync("count to 5");
            using (var ws = await StreamClient.ConnectWebSocketAsync(host.BaseUrl, token, wsId))
            {
                var got = new List<JsonElement>();
                while (await ws.ReceiveJsonAsync(Long) is { } e) got.Add(e);
                Assert.Equal("task_completed", got[^1].Type());
                Assert.Equal(Enumerable.Range(0, got.Count).Select(i => (long)i), got.Select(e => e.Idx()));
                Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus);
            }

            // An approval pause is not the end: a socket following the task stays open through the interrupt and
            // carries on after the resume, to the real end.
            var pauseId = await http.StartTaskAsync("write file ws/pause.txt with hello");
            using (var ws = await StreamClient.ConnectWebSocketAsync(host.BaseUrl, token, pauseId))
            {
                var got = new List<JsonElement>();
                while (await ws.ReceiveJsonAsync(Long) is { } e)
                {
                    got.Add(e);
                    if (e.Type() == "interrupt") await http.ResumeAsync(pauseId);
                }
                Assert.Contains("interrupt", got.Select(e => e.Type()));
                Assert.Contains("resumed", got.Select(e => e.Type()));
                Assert.Equal("task_completed", got[^1].Type());
                Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus);
            }

            // Long poll: woken by the resume long before the re-check would have.
            var (lpId, next) = await http.StartInterruptedTaskAsync();
            var clock = Stopwatch.StartNew();
            var poll = http.GetAsync($"/api/v1/tasks/{lpId}?from={next}&wait=20");
            await Task.Delay(500);
            await http.ResumeAsync(lpId);
            var body = JsonDocument.Parse(await (await poll).Content.ReadAsStringAsync()).RootElement;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"answered after {clock.Elapsed} (wait=20)");
            Assert.Equal("resumed", body.GetProperty("data").GetProperty("events")[0].Type());
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
