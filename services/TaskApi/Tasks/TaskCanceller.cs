using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.Storage.Tasks;

namespace Agents.Micro.TaskApi.Tasks;

/// <summary>Cancels a task wherever it is: at once when no worker holds it, otherwise by telling its worker.</summary>
public sealed class TaskCanceller(ITaskStore store, TaskDispatcher dispatcher)
{
    /// <summary>The task's status after the request (<c>cancelled</c>, or <c>running</c> while its worker stops it), or null when not found.</summary>
    public async Task<string?> CancelAsync(CallerIdentity caller, string taskId, string reason, CancellationToken ct)
    {
        var task = await store.GetTaskAsync(taskId, ct);
        if (task is null || task.UserId != caller.UserId && !caller.IsAdmin) return null;
        switch (await store.CancelAsync(taskId, reason, UnixTime.Now(), ct))
        {
            case CancelOutcome.Requested:
                await dispatcher.PublishCancelAsync(taskId, reason, ct);
                return task.Status;
            case CancelOutcome.NotFound:
                return null;
            case CancelOutcome.CancelledNow:
                var cancelled = await store.GetTaskAsync(taskId, ct);
                // Not awaited: a broker that is down must not slow the answer; readers re-check on their own.
                if (cancelled is not null) _ = dispatcher.PublishEventsAppendedAsync(taskId, cancelled.NextIdx, true, CancellationToken.None);
                return cancelled?.Status;
            default:
                return (await store.GetTaskAsync(taskId, ct))?.Status;
        }
    }
}
