using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Agents.Micro.Bench;

public sealed record PolledEvent(long Idx, string Type, double Ts);

public sealed record Poll(string Status, List<PolledEvent> Events, long NextOffset);

/// <summary>A v1 API client: the gateway with a bearer token, or TaskApi directly with a signed identity header.</summary>
public sealed class Api : IDisposable
{
    private static readonly HttpClient Shared = new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = 1024,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
    }) { Timeout = TimeSpan.FromMinutes(10) };

    private readonly string _base;
    private readonly AuthenticationHeaderValue? _bearer;
    private readonly string? _identity;

    public Api(string baseUrl, string? token, string? identity = null)
    {
        _base = baseUrl.TrimEnd('/');
        _bearer = token is null ? null : new AuthenticationHeaderValue("Bearer", token);
        _identity = identity;
    }

    public string BaseUrl => _base;

    public HttpRequestMessage Request(HttpMethod method, string path, HttpContent? content = null)
    {
        var r = new HttpRequestMessage(method, _base + path) { Content = content };
        if (_bearer is not null) r.Headers.Authorization = _bearer;
        if (_identity is not null) r.Headers.Add("X-Agents-Identity", _identity);
        return r;
    }

    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage r, HttpCompletionOption option = HttpCompletionOption.ResponseContentRead, CancellationToken ct = default) =>
        await Shared.SendAsync(r, option, ct);

    /// <summary>POST /api/v1/messages in a new conversation; the task id and its created_at (server clock, unix seconds).</summary>
    public async Task<(string TaskId, double CreatedAt)> SubmitAsync(string message, CancellationToken ct = default)
    {
        using var r = Request(HttpMethod.Post, "/api/v1/messages", new StringContent(JsonSerializer.Serialize(new { message }), Encoding.UTF8, "application/json"));
        using var resp = await SendAsync(r, ct: ct);
        var body = await resp.Content.ReadAsStringAsync(ct);
        if ((int)resp.StatusCode != 202) throw new InvalidOperationException($"submit: {(int)resp.StatusCode} {body}");
        using var doc = JsonDocument.Parse(body);
        return (doc.RootElement.GetProperty("task_id").GetString()!, doc.RootElement.GetProperty("created_at").GetDouble());
    }

    public async Task<Poll> PollAsync(string taskId, long from, CancellationToken ct = default, int waitSeconds = 0)
    {
        using var r = Request(HttpMethod.Get, waitSeconds > 0 ? $"/api/v1/tasks/{taskId}?from={from}&wait={waitSeconds}" : $"/api/v1/tasks/{taskId}?from={from}");
        using var resp = await SendAsync(r, ct: ct);
        var bytes = await resp.Content.ReadAsByteArrayAsync(ct);
        if (!resp.IsSuccessStatusCode) throw new InvalidOperationException($"poll: {(int)resp.StatusCode} {Encoding.UTF8.GetString(bytes)}");
        using var doc = JsonDocument.Parse(bytes);
        var data = doc.RootElement.GetProperty("data");
        var events = new List<PolledEvent>();
        foreach (var e in data.GetProperty("events").EnumerateArray())
            events.Add(new PolledEvent(e.GetProperty("idx").GetInt64(), e.GetProperty("type").GetString()!, e.GetProperty("ts").GetDouble()));
        return new Poll(data.GetProperty("status").GetString()!, events, data.GetProperty("next_offset").GetInt64());
    }

    /// <summary>
    /// Polls from <paramref name="from"/> until an event matching <paramref name="until"/> is seen; returns when it was seen.
    /// A negative <paramref name="pollDelayMs"/> long-polls instead (<c>wait=10</c>: the server answers when an event exists).
    /// </summary>
    public async Task<(long SeenTicks, PolledEvent Event, long Next)> WaitForAsync(string taskId, Func<string, bool> until, int pollDelayMs, TimeSpan timeout,
        long from = 0, CancellationToken ct = default)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var p = await PollAsync(taskId, from, ct, pollDelayMs < 0 ? 10 : 0);
            var now = Stopwatch.GetTimestamp();
            foreach (var e in p.Events)
                if (until(e.Type)) return (now, e, e.Idx + 1);
            from = p.NextOffset;
            if (now > deadline) throw new TimeoutException($"task {taskId}: no matching event within {timeout} (status {p.Status})");
            if (pollDelayMs > 0) await Task.Delay(pollDelayMs, ct);
        }
    }

    /// <summary>Polls only the task's status (offset past the end: no events are read) until it is <paramref name="status"/>.</summary>
    public async Task<long> WaitForStatusAsync(string taskId, string status, int pollDelayMs, TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var p = await PollAsync(taskId, long.MaxValue / 2, ct);
            var now = Stopwatch.GetTimestamp();
            if (p.Status == status) return now;
            if (now > deadline) throw new TimeoutException($"task {taskId}: not {status} within {timeout} (status {p.Status})");
            if (pollDelayMs > 0) await Task.Delay(pollDelayMs, ct);
        }
    }

    public static double UnixNow() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;

    public static bool IsTerminal(string type) => type is "task_completed" or "task_failed" or "task_cancelled" or "interrupt";

    public async Task CancelAsync(string taskId, CancellationToken ct = default)
    {
        using var r = Request(HttpMethod.Post, $"/api/v1/tasks/{taskId}/cancel");
        using var resp = await SendAsync(r, ct: ct);
        if (!resp.IsSuccessStatusCode) throw new InvalidOperationException($"cancel: {(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync(ct)}");
    }

    public static double Ms(long fromTicks, long toTicks) => (toTicks - fromTicks) * 1000.0 / Stopwatch.Frequency;

    public void Dispose() { }
}
