using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using Microsoft.Extensions.Options;

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
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(o.SweepIntervalSeconds), stoppingToken);
                var now = UnixTime.Now();
                var stranded = await store.FindStrandedAsync(now, now - o.RedispatchAfterSeconds, 200, stoppingToken);
                foreach (var t in stranded)
                {
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
