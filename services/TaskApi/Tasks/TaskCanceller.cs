using System.Diagnostics;
using Agents.Micro.ServiceDefaults.Telemetry;

namespace Agents.Micro.TaskApi.Tasks;

/// <summary>Cancels a task wherever it is: at once when no worker holds it, otherwise by telling its worker.</summary>
public sealed class TaskCanceller(ITaskStore store, TaskDispatcher dispatcher)
{
    /// <summary>The task's status after the request (<c>cancelled</c>, or <c>running</c> while its worker stops it), or null when not found.</summary>
    /// <remarks><paramref name="publicId"/> is the id the caller knows the task by; an admin may also name any task by its internal id.</remarks>
    public async Task<string?> CancelAsync(CallerIdentity caller, string publicId, string reason, CancellationToken ct)
    {
        var task = await store.FindTaskAsync(caller.UserId, publicId, ct)
            ?? (caller.IsAdmin ? await store.GetTaskAsync(publicId, ct) : null);
        if (task is null) return null;
        var taskId = task.Id;
        // The cancel is its own request (its own trace); the link leads to the trace where the task began.
        using var activity = TaskApiTelemetry.Source.StartActivity("task.cancel", ActivityKind.Internal, default(ActivityContext),
            links: TraceParent.LinksTo(task.TraceParent, "cancels"));
        activity?.SetTag("agents.task_id", task.Id);
        var outcome = await store.CancelAsync(taskId, reason, UnixTime.Now(), ct);
        activity?.SetTag("agents.cancel.outcome", outcome.ToString());
        TaskApiTelemetry.CancelsRequested.Add(1, new KeyValuePair<string, object?>("outcome", outcome.ToString()));
        switch (outcome)
        {
            case CancelOutcome.Requested:
                // The flag is committed (the worker's heartbeat sees it within Worker:HeartbeatSeconds); the message
                // only makes it sooner, so the answer does not wait for the broker's confirm. Not bound to the request.
                _ = dispatcher.PublishCancelAsync(taskId, reason, CancellationToken.None);
                return task.Status;
            case CancelOutcome.NotFound:
                return null;
            case CancelOutcome.CancelledNow:
                var cancelled = await store.GetTaskAsync(taskId, ct);
                // Not awaited: a broker that is down must not slow the answer; readers re-check on their own.
                if (cancelled is not null) _ = dispatcher.PublishEventsAppendedAsync(taskId, cancelled.NextIdx, true, CancellationToken.None);
                dispatcher.DispatchStartedInBackground(task.UserId, task.ConversationId);
                return cancelled?.Status;
            default:
                return (await store.GetTaskAsync(taskId, ct))?.Status;
        }
    }
}
