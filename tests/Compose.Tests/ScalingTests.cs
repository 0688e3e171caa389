using System.Globalization;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Compose.Tests;

/// <summary>
/// Independent worker scaling on the real containers: tasks spread over the workers, a worker killed with SIGKILL
/// loses nothing, and scaling down to one worker and back up under load loses nothing.
/// </summary>
public sealed class ScalingTests
{
    private const int Tasks = 20;
    private const int CountTo = 100;
    private static readonly string Expected = string.Join(' ', Enumerable.Range(1, CountTo));

    [Fact]
    public async Task TasksSpreadOverWorkers_AndAKilledWorkersTasksCompleteElsewhere()
    {
        var workers = (await Deployment.WaitHealthyAsync(workers: 3)).Where(c => c.Service == "agent-worker").ToList();
        using var http = Deployment.Client();
        var ids = await SubmitAsync(http, Tasks);

        // Who holds what, read from the task rows (lease_owner starts with the worker container's host name).
        var seenOwners = new HashSet<string>();
        Deployment.Container? victim = null;
        List<string> held = [];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (victim is null)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no worker was seen holding tasks (owners seen: {string.Join(", ", seenOwners)})");
            var rows = await Deployment.SqlAsync(
                $"SELECT id, lease_owner FROM tasks WHERE id IN ({string.Join(',', ids.Select(i => $"'{i}'"))}) AND status = 'running' AND lease_owner IS NOT NULL");
            var byWorker = rows.GroupBy(r => workers.FirstOrDefault(w => r[1].StartsWith(w.HostName + "-", StringComparison.Ordinal))).ToList();
            foreach (var g in byWorker) if (g.Key is not null) seenOwners.Add(g.Key.Name);
            // Kill once the spread is visible, the worker that holds the most running tasks.
            if (seenOwners.Count >= 2 && byWorker.Where(g => g.Key is not null).MaxBy(g => g.Count()) is { } most)
            {
                victim = most.Key;
                held = most.Select(r => r[0]).ToList();
            }
        }
        var killedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        List<PolledTask> results;
        try
        {
            (await Deployment.DockerAsync("kill", victim!.Id)).Ok("docker kill");
            Assert.True(seenOwners.Count >= 2, $"20 tasks ran on one worker only: {string.Join(", ", seenOwners)}");
            results = await Deployment.PollAllAsync(http, ids, TimeSpan.FromSeconds(150));
        }
        finally
        {
            // Put the killed worker back for the tests that follow.
            (await Deployment.ComposeAsync("up", "-d", "--no-recreate", "--scale", "agent-worker=3")).Ok("compose up");
        }
        AssertAllCompletedOnce(results);
        // The killed worker's tasks continued elsewhere: each says so with attempt_restarted, and how long that took.
        var continued = held.Select(id => results[ids.IndexOf(id)])
            .Select(t => t.Events.FirstOrDefault(e => e.GetProperty("type").GetString() == "attempt_restarted"))
            .Where(e => e.ValueKind != System.Text.Json.JsonValueKind.Undefined)
            .Select(e => e.GetProperty("ts").GetDouble() - killedAt)
            .Order().ToList();
        Assert.True(continued.Count > 0, $"none of the {held.Count} tasks the killed worker held was continued by another (they had ended before the kill?)");
        Deployment.Figure(string.Create(CultureInfo.InvariantCulture,
            $"docker kill of a worker holding {held.Count} task(s) → continued elsewhere after {continued[0]:F1}–{continued[^1]:F1}s (workers seen: {seenOwners.Count})"));
        await Deployment.WaitHealthyAsync(workers: 3);
    }

    [Fact]
    public async Task ScalingDownToOneWorkerAndBackUnderLoad_LosesNothing()
    {
        (await Deployment.ComposeAsync("up", "-d", "--no-recreate", "--scale", "agent-worker=3")).Ok("compose up");
        await Deployment.WaitHealthyAsync(workers: 3);
        using var http = Deployment.Client();
        var ids = await SubmitAsync(http, Tasks);
        (await Deployment.ComposeAsync("up", "-d", "--no-recreate", "--scale", "agent-worker=1")).Ok("scale to 1");
        Assert.Equal(1, (await Deployment.ContainersAsync()).Count(c => c.Service == "agent-worker" && c.State == "running"));
        var more = await SubmitAsync(http, 5);
        (await Deployment.ComposeAsync("up", "-d", "--no-recreate", "--scale", "agent-worker=3")).Ok("scale to 3");

        var results = await Deployment.PollAllAsync(http, ids.Concat(more), TimeSpan.FromSeconds(150));
        AssertAllCompletedOnce(results);
        await Deployment.WaitHealthyAsync(workers: 3);
    }

    private static async Task<List<string>> SubmitAsync(HttpClient http, int n)
    {
        var sends = Enumerable.Range(0, n).Select(_ => http.PostJsonAsync("/api/v1/messages", new { message = $"count to {CountTo}" }, 202));
        return (await Task.WhenAll(sends)).Select(s => s.GetProperty("task_id").GetString()!).ToList();
    }

    /// <summary>Each task: completed, one terminal event, the whole count exactly once (PollAsync checks the log is gapless).</summary>
    internal static void AssertAllCompletedOnce(IEnumerable<PolledTask> results)
    {
        foreach (var t in results)
        {
            Assert.Equal("completed", t.Status);
            Assert.Single(t.Types, x => PolledTask.TerminalTypes.Contains(x));
            Assert.Equal("task_completed", t.Types.Last());
            Assert.Equal(Expected, t.Text());
        }
    }
}
