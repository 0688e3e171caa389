using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Streaming.Tests;

/// <summary>What the tests do as a client: start tasks, open SSE streams and WebSockets.</summary>
public static class StreamClient
{
    public static async Task<string> StartTaskAsync(this HttpClient http, string message)
    {
        var sent = await http.PostJsonAsync("/api/v1/messages", new { message }, 202);
        return sent.GetProperty("task_id").GetString()!;
    }

    /// <summary>A task waiting at an interrupt (a file write needs approval): no events come until it is resumed.</summary>
    public static async Task<(string TaskId, long NextOffset)> StartInterruptedTaskAsync(this HttpClient http)
    {
        var id = await http.StartTaskAsync("write file notes/a.txt with hello");
        var t = await TaskPolling.PollAsync(http, id, t => t.Status == "interrupted", TimeSpan.FromSeconds(30));
        return (id, t.NextOffset);
    }

    public static Task ResumeAsync(this HttpClient http, string taskId) =>
        http.PostJsonAsync($"/api/v1/tasks/{taskId}/resume", new { response_type = "accept" }, 200);

    /// <summary>Opens <c>/events</c>; the response is returned as soon as its headers arrive.</summary>
    public static async Task<HttpResponseMessage> OpenSseAsync(this HttpClient http, string taskId, long? lastEventId = null, string query = "")
    {
        var req = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/tasks/{taskId}/events{query}");
        req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is { } last) req.Headers.Add("Last-Event-ID", last.ToString());
        return await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
    }

    public static async Task<SseReader> OpenSseReaderAsync(this HttpClient http, string taskId, long? lastEventId = null, string query = "")
    {
        var resp = await http.OpenSseAsync(taskId, lastEventId, query);
        Assert.Equal(200, (int)resp.StatusCode);
        Assert.Equal("text/event-stream", resp.Content.Headers.ContentType?.MediaType);
        return new SseReader(await resp.Content.ReadAsStreamAsync());
    }

    /// <summary>Reads events until the server ends the stream (fails after <paramref name="timeout"/>).</summary>
    public static async Task<List<(SseEvent Event, TimeSpan At)>> ReadToEndAsync(this SseReader reader, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var clock = Stopwatch.StartNew();
        var events = new List<(SseEvent, TimeSpan)>();
        while (await reader.NextAsync(cts.Token) is { } e) events.Add((e, clock.Elapsed));
        return events;
    }

    public static async Task<ClientWebSocket> ConnectWebSocketAsync(string baseUrl, string token, string taskId, string query = "")
    {
        var ws = new ClientWebSocket();
        var sep = query.Length == 0 ? "?" : query + "&";
        // As a browser must: the token in the query string, not a header.
        var uri = new Uri(baseUrl.Replace("http://", "ws://") + $"/api/v1/tasks/{taskId}/ws{sep}access_token={Uri.EscapeDataString(token)}");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ws.ConnectAsync(uri, cts.Token);
        return ws;
    }

    /// <summary>The next text message as JSON, or null when the server closed the socket.</summary>
    public static async Task<JsonElement?> ReceiveJsonAsync(this ClientWebSocket ws, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        using var ms = new MemoryStream();
        while (true)
        {
            var r = await ws.ReceiveAsync(buffer, cts.Token);
            if (r.MessageType == WebSocketMessageType.Close) return null;
            ms.Write(buffer, 0, r.Count);
            if (r.EndOfMessage) return JsonDocument.Parse(ms.ToArray()).RootElement.Clone();
        }
    }

    public static Task SendJsonAsync(this ClientWebSocket ws, object message) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(message)), WebSocketMessageType.Text, true, CancellationToken.None);

    public static long Idx(this JsonElement e) => e.GetProperty("idx").GetInt64();
    public static string Type(this JsonElement e) => e.GetProperty("type").GetString()!;

    public static readonly string[] TerminalTypes = PolledTask.TerminalTypes;
}
