using Agents.Micro.ServiceDefaults.Data;

namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>
/// The worker's heartbeat: every <c>Worker:HeartbeatSeconds</c> it renews the leases of all the runs it holds in one
/// statement, and stops the runs whose lease it lost (another attempt took the task) or whose cancel was requested.
/// One round trip per worker per beat, whatever the number of runs — which is what lets the lease be short (a dead
/// worker's tasks are taken over after <c>Worker:LeaseSeconds</c> plus one TaskApi sweep) without more database load.
/// </summary>
public sealed class LeaseKeeper(ITaskStore store, RunningTasks running, WorkerIdentity worker, IOptions<WorkerOptions> options,
    ILogger<LeaseKeeper> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(o.HeartbeatSeconds));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            // The handles, not just the ids: a run that ended while this beat was in flight may already have been
            // replaced by a new claim of the same task on this worker, which must not be stopped for the old one.
            var held = running.Handles;
            if (held.Count == 0) continue;
            try
            {
                var renewed = await store.RenewLeasesAsync(worker.Id, held.Select(h => h.TaskId).ToList(), UnixTime.Now() + o.LeaseSeconds, stoppingToken);
                var answer = renewed.ToDictionary(r => r.TaskId, r => r.CancelRequested);
                foreach (var h in held)
                {
                    if (!answer.TryGetValue(h.TaskId, out var cancel)) h.Stop(StopReason.LeaseLost);
                    else if (cancel) h.Stop(StopReason.UserCancel);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The database may be restarting; the lease fence protects the logs if leases run out meanwhile.
                log.LogWarning("lease renewal of {Count} task(s) failed: {Error}", held.Count, ex.Message);
            }
        }
    }
}
