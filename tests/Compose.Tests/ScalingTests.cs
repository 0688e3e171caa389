using System.Globalization;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Compose.Tests;

/// <summary>
/// Independent worker scaling on the real containers: tasks spread over the workers, a worker killed with SIGKILL
/// loses nothing (its tasks continue in another worker process), and scaling down to one worker and back up while
/// the removed workers hold running tasks loses nothing.
/// </summary>
public sealed class ScalingTests
{
    private const int Tasks = 20;

    [Fact]
    public async Task TasksSpreadOverWorkers_AndAKilledWorkersTasksCompleteElsewhere()
    {
        var workers = (await Deployment.WaitHealthyAsync(workers: 3)).Where(c => c.Service == "agent-worker").ToList();
        using var http = Deployment.Client();
        var ids = await SubmitAsync(http, Tasks, countTo: 100);

        // Who holds what, read from the task rows (lease_owner is the worker's id: container host name, pid, random).
        var seenWorkers = new HashSet<string>();
        (Deployment.Container Container, string Owner, List<string> Held)? victim = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (victim is null)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no spread over two workers was seen (seen: {string.Join(", ", seenWorkers)})");
            var byOwner = (await RunningAsync(ids)).GroupBy(r => r.Owner).ToList();
            foreach (var g in byOwner) seenWorkers.Add(g.Key);
            // Kill once the spread is visible: the worker that holds the most running tasks.
            if (seenWorkers.Count >= 2 && byOwner.MaxBy(g => g.Count()) is { } most
                && workers.FirstOrDefault(w => most.Key.StartsWith(w.HostName + "-", StringComparison.Ordinal)) is { } container)
                victim = (container, most.Key, most.Select(r => r.Id).ToList());
        }
        var (killed, killedOwner, held) = victim.Value;
        var killedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        List<PolledTask> results;
        var newOwners = new Dictionary<string, string>();
        try
        {
            (await Deployment.DockerAsync("kill", killed.Id)).Ok("docker kill");
            // Watch the killed worker's tasks be taken over: who holds each next.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (DateTime.UtcNow < until)
            {
                var rows = await Deployment.SqlAsync($"SELECT id, lease_owner, status FROM tasks WHERE id IN ({InList(held)})");
                foreach (var r in rows.Where(r => r[1].Length > 0 && r[1] != killedOwner)) newOwners.TryAdd(r[0], r[1]);
                if (rows.All(r => r[2] != "running" || newOwners.ContainsKey(r[0]))) break;
                await Task.Delay(250);
            }
            results = await Deployment.PollAllAsync(http, ids, TimeSpan.FromSeconds(150));
        }
        finally
        {
            // Put the killed worker back for the tests that follow.
            (await Deployment.ComposeAsync("up", "-d", "--no-recreate", "--scale", "agent-worker=3")).Ok("compose up");
        }
        AssertAllCompletedOnce(results, 100);
        Assert.True(newOwners.Count > 0, $"none of the {held.Count} tasks the killed worker held was seen taken over by another worker");
        Assert.DoesNotContain(killedOwner, newOwners.Values);
        // Each of them says so in its log (attempt_restarted), and when.
        var continued = held.Select(id => results[ids.IndexOf(id)])
            .Select(t => t.Events.FirstOrDefault(e => e.GetProperty("type").GetString() == "attempt_restarted"))
            .Where(e => e.ValueKind != System.Text.Json.JsonValueKind.Undefined)
            .Select(e => e.GetProperty("ts").GetDouble() - killedAt)
            .Order().ToList();
        Assert.True(continued.Count > 0, $"none of the {held.Count} tasks the killed worker held logged attempt_restarted");
        // With the default lease (6 s) and sweep (2 s): every one of them continues within 10 s of the kill.
        Assert.True(continued[^1] <= 10.0, $"the last of the killed worker's tasks continued {continued[^1]:F1} s after the kill");
        var containers = newOwners.Values.Select(o => o[..12]).Distinct().ToList();
        Deployment.Figure(string.Create(CultureInfo.InvariantCulture,
            $"docker kill of a worker holding {held.Count} task(s) → continued by another worker after {continued[0]:F1}–{continued[^1]:F1}s " +
            $"(in {containers.Count} container(s){(containers.Contains(killed.HostName) ? ", the killed one restarted by its policy among them" : "")}; workers seen: {seenWorkers.Count})"));
        await Deployment.WaitHealthyAsync(workers: 3);
    }

    [Fact]
    public async Task ScalingDownToOneWorkerAndBackUnderLoad_LosesNothing()
    {
        (await Deployment.ComposeAsync("up", "-d", "--no-recreate", "--scale", "agent-worker=3")).Ok("compose up");
        var before = (await Deployment.WaitHealthyAsync(workers: 3)).Where(c => c.Service == "agent-worker").ToList();
        using var http = Deployment.Client();
        // Long enough (about 5 s each) that the workers being removed are in the middle of them; 15 now and 5 while
        // scaled down stay within the per-user cap of 20 active tasks.
        var ids = await SubmitAsync(http, 15, countTo: 300);
        var held = new List<(string Id, string Owner)>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (held.Select(h => h.Owner[..12]).Distinct().Count() < 2)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the tasks were not seen running on two workers");
            held = await RunningAsync(ids);
        }

        (await Deployment.ComposeAsync("up", "-d", "--no-recreate", "--scale", "agent-worker=1")).Ok("scale to 1");
        var remaining = (await Deployment.ContainersAsync()).Where(c => c.Service == "agent-worker" && c.State == "running").ToList();
        Assert.Single(remaining);
        var removed = before.Where(b => remaining.All(r => r.Id != b.Id)).Select(b => b.HostName).ToHashSet();
        Assert.Contains(held, h => removed.Contains(h.Owner[..12]));
        var more = await SubmitAsync(http, 5, countTo: 300);
        (await Deployment.ComposeAsync("up", "-d", "--no-recreate", "--scale", "agent-worker=3")).Ok("scale to 3");

        var results = await Deployment.PollAllAsync(http, ids.Concat(more), TimeSpan.FromSeconds(180));
        AssertAllCompletedOnce(results, 300);
        await Deployment.WaitHealthyAsync(workers: 3);
    }

    private static async Task<List<string>> SubmitAsync(HttpClient http, int n, int countTo)
    {
        var sends = Enumerable.Range(0, n).Select(_ => http.PostJsonAsync("/api/v1/messages", new { message = $"count to {countTo}" }, 202));
        return (await Task.WhenAll(sends)).Select(s => s.GetProperty("task_id").GetString()!).ToList();
    }

    private static string InList(IEnumerable<string> ids) => string.Join(',', ids.Select(i => $"'{i}'"));

    /// <summary>The tasks among <paramref name="ids"/> that a worker holds right now, with that worker's id.</summary>
    private static async Task<List<(string Id, string Owner)>> RunningAsync(IEnumerable<string> ids) =>
        (await Deployment.SqlAsync($"SELECT id, lease_owner FROM tasks WHERE id IN ({InList(ids)}) AND status = 'running' AND lease_owner IS NOT NULL"))
            .Select(r => (r[0], r[1])).ToList();

    /// <summary>Each task: completed, one terminal event, the whole count exactly once (PollAsync checks the log is gapless).</summary>
    internal static void AssertAllCompletedOnce(IEnumerable<PolledTask> results, int countTo)
    {
        var expected = string.Join(' ', Enumerable.Range(1, countTo));
        foreach (var t in results)
        {
            Assert.Equal("completed", t.Status);
            Assert.Single(t.Types, x => PolledTask.TerminalTypes.Contains(x));
            Assert.Equal("task_completed", t.Types.Last());
            Assert.Equal(expected, t.Text());
        }
    }
}
