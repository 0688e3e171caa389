using Agents.Micro.Contracts;
using MassTransit;

namespace Agents.Micro.TaskApi.Tasks;

/// <summary>
/// Sends commands to the workers. A send that cannot reach the broker in time is not an error for the client:
/// the task row exists and <see cref="StrandedTaskRedispatcher"/> sends it again once the broker is back.
/// </summary>
public sealed class TaskDispatcher(IBus bus, ITaskStore store,
    IOptions<DispatchOptions> options, ILogger<TaskDispatcher> log)
{
    /// <param name="markedBeforeSend">The row already says it was sent (a new task's insert does): nothing to write
    /// after a send that works, and the mark is cleared after one that fails, so the sweep sends it.</param>
    public async Task<bool> DispatchAsync(TaskRecord task, string reason, CancellationToken ct = default, bool markedBeforeSend = false) =>
        await TrySendAsync(task.Id, new RunTask(task.Id, task.UserId, reason), ct, markedBeforeSend);

    /// <summary>
    /// <see cref="DispatchAsync"/> for a task whose row is already marked sent, without waiting for the broker's confirm.
    /// Not bound to the request: a client that disconnects does not abort the send. Bounded by <c>Dispatch:SendTimeoutMs</c>.
    /// </summary>
    /// <summary>
    /// After TaskApi itself ended a conversation's task (a cancel, an operator's end, a delete, an if_busy stop), the
    /// queued message that ending started (if_busy) is sent to the workers now instead of at the next sweep. Not bound
    /// to the request: a broker that is down leaves it to the sweep.
    /// </summary>
    public void DispatchStartedInBackground(string userId, string conversationId) => _ = Task.Run(async () =>
    {
        try
        {
            foreach (var t in await store.ListTasksAsync(userId, conversationId, CancellationToken.None))
                if (t.Status == TaskStatus.Running && t.LeaseOwner is null && t.DispatchedAt is null)
                    await DispatchAsync(t, "queue", CancellationToken.None);
        }
        catch (Exception ex)
        {
            log.LogDebug("queued message of {ConversationId} left to the sweep: {Error}", conversationId, ex.Message);
        }
    });

    public void DispatchInBackground(TaskRecord task, string reason) =>
        _ = DispatchAsync(task, reason, CancellationToken.None, markedBeforeSend: true);

    public async Task<bool> DispatchResumeAsync(TaskRecord task, string interruptId, string responseType, CancellationToken ct = default) =>
        await TrySendAsync(task.Id, new ResumeTask(task.Id, task.UserId, interruptId, responseType), ct);

    private async Task<bool> TrySendAsync<T>(string taskId, T message, CancellationToken ct, bool markedBeforeSend = false) where T : class
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(options.Value.SendTimeoutMs);
        try
        {
            var endpoint = await bus.GetSendEndpoint(QueueNames.AgentTasksAddress);
            await endpoint.Send(message, cts.Token);
            if (!markedBeforeSend) await store.MarkDispatchedAsync(taskId, UnixTime.Now(), CancellationToken.None);
            return true;
        }
        catch (Exception ex)
        {
            // Also when the request was aborted mid-send: the row must not claim a send that may not have happened.
            if (markedBeforeSend)
            {
                try { await store.MarkDispatchedAsync(taskId, null, CancellationToken.None); }
                catch (Exception clear) { log.LogWarning("could not clear the dispatch mark of task {TaskId} ({Error}); it is re-dispatched after Dispatch:RedispatchAfterSeconds", taskId, clear.Message); }
            }
            if (ct.IsCancellationRequested) throw;
            log.LogWarning("could not dispatch {Message} for task {TaskId} now ({Error}); it will be re-dispatched", typeof(T).Name, taskId, ex.Message);
            return false;
        }
    }

    /// <summary>Tells every worker to stop the task; the one holding it does. Best effort: the database flag is the fallback.</summary>
    public async Task PublishCancelAsync(string taskId, string reason, CancellationToken ct = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(options.Value.SendTimeoutMs);
        try
        {
            await bus.Publish(new CancelTask(taskId, reason), cts.Token);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            log.LogWarning("could not publish cancel for task {TaskId} ({Error}); the worker sees the flag on its next heartbeat", taskId, ex.Message);
        }
    }

    /// <summary>
    /// Wakes readers following the task on every TaskApi instance, for the events TaskApi appends itself (a cancel of a
    /// task no worker holds, a resume). Best effort: the readers' periodic re-check is the fallback.
    /// </summary>
    public async Task PublishEventsAppendedAsync(string taskId, long nextIdx, bool terminal, CancellationToken ct = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(options.Value.SendTimeoutMs);
        try
        {
            await bus.Publish(new TaskEventsAppended(taskId, nextIdx, terminal), cts.Token);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            log.LogDebug("could not publish the event notification for task {TaskId} ({Error})", taskId, ex.Message);
        }
    }
}
