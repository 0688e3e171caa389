using System.Net.Http.Json;
using System.Text.Json;

namespace Agents.Micro.TestSupport;

/// <summary>A client-side view of one task's log, read the way a user polls it: with <c>from</c> and <c>next_offset</c>.</summary>
public sealed record PolledTask(string Status, IReadOnlyList<JsonElement> Events, long NextOffset)
{
    public IEnumerable<string> Types => Events.Select(e => e.GetProperty("type").GetString()!);

    public string Text(string type = "text_chunk") =>
        string.Concat(Events.Where(e => e.GetProperty("type").GetString() == type).Select(e => e.GetProperty("data").GetProperty("content").GetString()));

    public static readonly string[] TerminalTypes = ["task_completed", "task_failed", "task_cancelled"];

    public bool Ended => Events.Any(e => TerminalTypes.Contains(e.GetProperty("type").GetString()));
}

public static class TaskPolling
{
    /// <summary>Polls <c>GET /api/v1/tasks/{id}?from=…</c> until <paramref name="until"/> holds, checking offsets on the way.</summary>
    public static async Task<PolledTask> PollAsync(HttpClient http, string taskId, Func<PolledTask, bool>? until = null, TimeSpan? timeout = null)
    {
        until ??= t => t.Ended;
        var events = new List<JsonElement>();
        long from = 0;
        string status = "";
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            using var resp = await http.GetAsync($"/api/v1/tasks/{taskId}?from={from}");
            var body = await resp.Content.ReadAsStringAsync();
            if (resp.StatusCode == System.Net.HttpStatusCode.TooManyRequests && DateTime.UtcNow < deadline)
            {
                // As a well-behaved client does: wait as long as the gateway's rate limiter asks, then poll again.
                await Task.Delay(resp.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
                continue;
            }
            if (!resp.IsSuccessStatusCode) throw new InvalidOperationException($"poll {taskId}: {(int)resp.StatusCode} {body}");
            var data = JsonDocument.Parse(body).RootElement.GetProperty("data");
            status = data.GetProperty("status").GetString()!;
            foreach (var e in data.GetProperty("events").EnumerateArray())
            {
                var idx = e.GetProperty("idx").GetInt64();
                if (idx != events.Count)
                    throw new InvalidOperationException($"task {taskId}: event idx {idx} out of order (expected {events.Count})");
                events.Add(e.Clone());
            }
            var next = data.GetProperty("next_offset").GetInt64();
            if (next != events.Count) throw new InvalidOperationException($"task {taskId}: next_offset {next} but {events.Count} events read");
            from = next;
            var view = new PolledTask(status, events.ToList(), next);
            if (until(view)) return view;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"task {taskId} still {status} after {events.Count} events: {string.Join(",", view.Types)}");
            await Task.Delay(50);
        }
    }

    public static async Task<JsonElement> PostJsonAsync(this HttpClient http, string path, object body, int expectStatus)
    {
        var resp = await http.PostAsJsonAsync(path, body);
        var text = await resp.Content.ReadAsStringAsync();
        if ((int)resp.StatusCode != expectStatus) throw new InvalidOperationException($"POST {path}: expected {expectStatus}, got {(int)resp.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
