using System.Collections.Concurrent;
using System.Net.Http.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Compose.Tests;

/// <summary>
/// The broker and the database restart under the running system (`docker compose restart`), with tasks running and
/// new ones arriving: every task that was accepted completes, and no service container restarts (they ride it out).
/// </summary>
public sealed class OutageTests
{
    [Theory]
    [InlineData("rabbitmq")]
    [InlineData("postgres")]
    public async Task ServerRestart_WithTasksRunningAndArriving_EveryAcceptedTaskCompletes(string server)
    {
        var before = (await Deployment.WaitHealthyAsync(workers: 3)).Where(c => Deployment.AppServices.Contains(c.Service)).ToList();
        using var http = Deployment.Client();
        var accepted = new ConcurrentBag<string>();
        var refused = new ConcurrentBag<string>();
        for (var i = 0; i < 10; i++) accepted.Add(await SendAsync(http) ?? throw new InvalidOperationException("not accepted before the outage"));

        using var stop = new CancellationTokenSource();
        var sender = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if (await SendAsync(http) is { } id) accepted.Add(id);
                    else refused.Add("refused");
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { refused.Add(ex.GetType().Name); }
                await Task.Delay(250);
            }
        });
        var t0 = DateTime.UtcNow;
        var acceptedBefore = accepted.Count;
        (await Deployment.ComposeAsync("restart", server)).Ok($"compose restart {server}");
        var acceptedDuring = accepted.Count - acceptedBefore;
        Deployment.Figure($"docker compose restart {server}: {(DateTime.UtcNow - t0).TotalSeconds:F1}s; " +
                          $"{acceptedDuring} task(s) accepted while it restarted, {refused.Count} send(s) refused");
        await WaitReadyAsync(http);
        await Task.Delay(TimeSpan.FromSeconds(3));   // keep sending a little while after it is back
        await stop.CancelAsync();
        await sender;

        var results = await Deployment.PollAllAsync(http, accepted, TimeSpan.FromSeconds(180));
        Assert.True(results.Count > acceptedBefore, "no task was accepted after the restart began");
        foreach (var t in results)
        {
            Assert.Equal("completed", t.Status);
            Assert.Single(t.Types, x => PolledTask.TerminalTypes.Contains(x));
            Assert.Equal(string.Join(' ', Enumerable.Range(1, 30)), t.Text());
        }

        // The services rode it out: the same containers, none restarted.
        var after = (await Deployment.WaitHealthyAsync(workers: 3)).Where(c => Deployment.AppServices.Contains(c.Service)).ToList();
        foreach (var c in before)
        {
            var now = Assert.Single(after, a => a.Id == c.Id);
            Assert.True(now.RestartCount == c.RestartCount, $"{c.Name} restarted during the {server} outage");
        }
    }

    /// <summary>The task id of a 202, or null when the system refused (it may, with an error, while a server is down).</summary>
    private static async Task<string?> SendAsync(HttpClient http)
    {
        using var resp = await http.PostAsJsonAsync("/api/v1/messages", new { message = "count to 30" });
        if ((int)resp.StatusCode != 202) return null;
        return System.Text.Json.JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement.GetProperty("task_id").GetString();
    }

    internal static async Task WaitReadyAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            try
            {
                using var r = await http.GetAsync("/health/ready");
                if (r.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the gateway did not report ready again");
            await Task.Delay(500);
        }
    }
}
