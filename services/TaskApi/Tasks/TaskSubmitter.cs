using Agents.Micro.Contracts;
using Agents.Micro.Storage.Usage;
using Agents.Micro.ServiceDefaults.Telemetry;

namespace Agents.Micro.TaskApi.Tasks;

/// <summary>A task to create, as both APIs describe it.</summary>
public sealed record SubmitRequest(CallerIdentity Caller, string? ConversationId, bool CreateConversationIfMissing, string? TaskId, TaskOptions Options);

/// <summary>The outcome: the task, or an HTTP status with the error a client can act on (and when to retry, for a spent budget).</summary>
public sealed record SubmitResult(TaskRecord? Task, int Status, string? Error, DateTimeOffset? RetryAt = null)
{
    /// <summary>The refusal in the error shape, with <c>Retry-After</c> when it says when to come back.</summary>
    public JsonHttpResult<ErrorBody> Refusal(HttpResponse response)
    {
        if (RetryAt is { } at)
            response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling((at - DateTimeOffset.UtcNow).TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ApiError.Status(Status, Error!);
    }
}

/// <summary>Creates a task (row first, then the <c>RunTask</c> command), shared by <c>/api/v1/messages</c> and <c>/agent/invoke</c>.</summary>
public sealed class TaskSubmitter(ITaskStore store, TaskDispatcher dispatcher, IOptions<ModelCatalogOptions> models,
    IOptions<TaskLimitOptions> limits, UsageBudget budget)
{
    public async Task<SubmitResult> SubmitAsync(SubmitRequest r, CancellationToken ct)
    {
        var model = models.Value.Find(r.Options.ModelKey);
        if (model is null)
            return new(null, 400, $"unknown model_key '{r.Options.ModelKey}' (configured: {string.Join(", ", models.Value.Items.Keys)})");
        if (r.Options.Images.Count > 0 && !model.Vision)
            return new(null, 400, $"model '{r.Options.ModelKey ?? models.Value.Default}' does not accept images; pick a vision model with model_key");

        if (await budget.CheckAsync(r.Caller.UserId, 0, crossing: false, ct) is { } spent) return new(null, 429, spent.Message, spent.ResetsAt);

        // One transaction: the per-user cap (exact under racing sends), the conversation, the task. A refusal writes nothing.
        var (cap, capError) = Cap(r.Caller.UserId);
        var fresh = r.ConversationId is null;
        var start = DateTimeOffset.UtcNow;
        for (var clash = 0; ; clash++)
        {
            var now = UnixTime.Now();
            // A new v1 conversation's id is its creation time to the millisecond; a clash moves to the next millisecond.
            var conversationId = r.ConversationId ?? ConversationIds.Format(start.AddMilliseconds(clash));
            var task = new TaskRecord
            {
                // Internal ids are the server's; a client's task_id is unique within its user only (ClientId).
                Id = Guid.NewGuid().ToString(),
                ClientId = r.TaskId,
                ConversationId = conversationId,
                UserId = r.Caller.UserId,
                Status = TaskStatus.Running,
                Query = r.Options.Message ?? "",
                Options = r.Options.ToJson(),
                CreatedAt = now,
                UpdatedAt = now,
                // Marked sent before the send (cleared if it fails): one write fewer on every send that works.
                DispatchedAt = now,
                // Where this task's trace began: its resume, cancel and retries link back to it.
                TraceParent = TraceParent.Current(),
            };
            switch (await store.CreateTaskAsync(task, r.CreateConversationIfMissing, cap, ct, freshConversation: fresh, ifBusy: r.Options.IfBusy))
            {
                case CreateTaskResult.ConversationExists when clash < 1000:
                    continue;
                // The conversation's task ended and another message started in the same instant: queue behind that one.
                case CreateTaskResult.ConversationBusy when r.Options.IfBusy is not (null or IfBusy.Reject) && clash < 3:
                    continue;
                case CreateTaskResult.ConversationExists:
                    throw new InvalidOperationException("could not allocate a conversation id");
                case CreateTaskResult.TooManyActive:
                    return new(null, 429, capError);
                case CreateTaskResult.ConversationBusy:
                    return new(null, 409, $"conversation '{conversationId}' already has a running or interrupted task; wait for it, resume it or cancel it, or send with if_busy (enqueue, interrupt, rollback)");
                case CreateTaskResult.DuplicateTaskId:
                    return new(null, 409, $"task_id '{task.PublicId}' already exists");
                case CreateTaskResult.ConversationNotFound:
                    return new(null, 404, $"conversation '{conversationId}' not found");
            }
            TaskApiTelemetry.TasksAccepted.Add(1, new KeyValuePair<string, object?>("model", r.Options.ModelKey ?? models.Value.Default),
                new("mode", TaskApiTelemetry.ModeOf(r.Options)));
            if (TaskOptions.FromJson(task.Options).Supersedes is { } stopping)
                await AnnounceStopAsync(stopping, r.Options.IfBusy!);
            // Queued behind the conversation's task: it starts when that one ends (the ending's transaction makes it runnable).
            if (task.Status == TaskStatus.Queued) return new(task, 202, null);
            // The row is written and marked sent, so the client gets its answer now rather than after the broker's
            // confirm (a persistent message is confirmed once the broker has it on disk: most of a send's time). The
            // command reaches a worker just as fast; a send that fails clears the mark and the sweep sends it again.
            dispatcher.DispatchInBackground(task, "new");
            return new(task, 202, null);
        }
    }

    /// <summary>
    /// Interrupt and rollback stopped the conversation's task: if it was stopped here, its readers and the webhook sender
    /// are told it ended; if a worker holds it, the worker is told to stop it now (it also reads the flag set in the
    /// send's transaction with its next lease renewal). Not awaited past the read: a broker that is down slows nothing.
    /// </summary>
    private async Task AnnounceStopAsync(string stoppingId, string ifBusy)
    {
        if (await store.GetTaskAsync(stoppingId, CancellationToken.None) is not { } stopped) return;
        if (!TaskStatus.IsTerminal(stopped.Status))
        {
            _ = dispatcher.PublishCancelAsync(stopped.Id, $"stopped by a newer message (if_busy={ifBusy})", CancellationToken.None);
            return;
        }
        _ = dispatcher.PublishEventsAppendedAsync(stopped.Id, stopped.NextIdx, true, CancellationToken.None);
        // Its end started the conversation's queue: this send's own task is dispatched by the send, an earlier one here.
        dispatcher.DispatchStartedInBackground(stopped.UserId, stopped.ConversationId);
    }

    /// <summary>
    /// The most active tasks the user may have, and the refusal beyond it: <c>Tasks:MaxActivePerUser</c>, or the user's
    /// concurrent-task budget where that is lower.
    /// </summary>
    public (int Cap, string Error) Cap(string userId)
    {
        var cap = limits.Value.MaxActivePerUser;
        return budget.For(userId).ConcurrentTasks is > 0 and var own && own < cap
            ? (own, $"concurrent task budget: you already have {own} queued, running or waiting for approval (Budgets:ConcurrentTasks); wait for one to finish or cancel one, then retry")
            : (cap, TooMany(cap));
    }

    public static string TooMany(int cap) =>
        $"too many tasks: you already have {cap} queued, running or waiting for approval (Tasks:MaxActivePerUser); wait for one to finish or cancel one, then retry";
}
