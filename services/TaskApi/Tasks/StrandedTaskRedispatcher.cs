namespace Agents.Micro.TaskApi.Tasks;

/// <summary>
/// "Accepted means done eventually": running tasks that were never dispatched (broker down at the time), that nobody
/// claimed for a while, or whose worker's lease expired (it died) are sent again. Duplicates are harmless: a worker
/// only runs a task it can claim.
/// </summary>
public sealed class StrandedTaskRedispatcher(ITaskStore store, TaskDispatcher dispatcher, IOptions<DispatchOptions> options,
    ILogger<StrandedTaskRedispatcher> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        for (var pass = 1; !stoppingToken.IsCancellationRequested; pass++)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(o.SweepIntervalSeconds), stoppingToken);
                var now = UnixTime.Now();
                // Every 15th pass (30 s by default): a conversation queue (if_busy) whose head a promotion missed starts;
                // the head then waits for a worker like any other task and this sweep dispatches it.
                if (pass % 15 == 0 && await store.StartOrphanedQueuesAsync(now, stoppingToken) is > 0 and var started)
                    log.LogInformation("started {Count} queued message(s) whose conversation had no task", started);
                var stranded = await store.FindStrandedAsync(now, now - o.RedispatchAfterSeconds, 200, stoppingToken);
                // The request that created a task sends its command itself and marks it dispatched once the broker has
                // it; a task younger than that send may be in that window and is not stranded. (Sending it again raced
                // the request's own command: a duplicate, and a first run outside the request's trace.)
                var inFlight = now - o.SendTimeoutMs / 1000.0 - 1;
                foreach (var t in stranded)
                {
                    if (t.DispatchedAt is null && t.LeaseOwner is null && t.CreatedAt > inFlight) continue;
                    var reason = t.LeaseOwner is null ? "redispatch" : "lease_expired";
                    if (!await dispatcher.DispatchAsync(t, reason, stoppingToken)) break; // broker still down: try next sweep
                    log.LogInformation("re-dispatched task {TaskId} ({Reason})", t.Id, reason);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                log.LogWarning("stranded-task sweep failed: {Error}", ex.Message);
            }
        }
    }
}
