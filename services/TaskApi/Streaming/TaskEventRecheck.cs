namespace Agents.Micro.TaskApi.Streaming;

/// <summary>
/// The safety net under the bus notifications: every <c>Streaming:RecheckSeconds</c>, one query reads the progress of
/// all tasks that have waiting readers (however many readers each has) and wakes those that missed an event, ended or
/// were deleted. Without waiting readers it queries nothing.
/// </summary>
public sealed class TaskEventRecheck(ITaskStore store, TaskEventHub hub, IOptions<StreamingOptions> options, ILogger<TaskEventRecheck> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.RecheckSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await RecheckAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    log.LogWarning("task event re-check failed: {Error}", ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public async Task RecheckAsync(CancellationToken ct)
    {
        var waiting = hub.Waiting();
        if (waiting.Count == 0) return;
        var progress = await store.GetProgressAsync(waiting.Select(w => w.TaskId).Distinct().ToList(), ct);
        foreach (var (taskId, waitingAt) in waiting)
        {
            if (progress.TryGetValue(taskId, out var p)) hub.Recheck(taskId, waitingAt, p.NextIdx, TaskStatus.IsTerminal(p.Status));
            else hub.Recheck(taskId, waitingAt, null, false);
        }
    }
}
