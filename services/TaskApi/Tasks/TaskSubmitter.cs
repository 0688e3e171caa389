using Agents.Micro.ServiceDefaults.Agents;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.ServiceDefaults.Telemetry;
using Agents.Micro.Storage.Tasks;
using Agents.Micro.TaskApi.Telemetry;
using Microsoft.Extensions.Options;
using TaskStatus = Agents.Micro.Storage.Tasks.TaskStatus;

namespace Agents.Micro.TaskApi.Tasks;

/// <summary>A task to create, as both APIs describe it.</summary>
public sealed record SubmitRequest(CallerIdentity Caller, string? ConversationId, bool CreateConversationIfMissing, string? TaskId, TaskOptions Options);

/// <summary>The outcome: the task, or an HTTP status with the error a client can act on.</summary>
public sealed record SubmitResult(TaskRecord? Task, int Status, string? Error);

/// <summary>Creates a task (row first, then the <c>RunTask</c> command), shared by <c>/api/v1/messages</c> and <c>/agent/invoke</c>.</summary>
public sealed class TaskSubmitter(ITaskStore store, TaskDispatcher dispatcher, IOptions<ModelCatalogOptions> models,
    ActiveTaskCounter active, IOptions<TaskLimitOptions> limits)
{
    public async Task<SubmitResult> SubmitAsync(SubmitRequest r, CancellationToken ct)
    {
        var model = models.Value.Find(r.Options.ModelKey);
        if (model is null)
            return new(null, 400, $"unknown model_key '{r.Options.ModelKey}' (configured: {string.Join(", ", models.Value.Items.Keys)})");
        if (r.Options.Images.Count > 0 && !model.Vision)
            return new(null, 400, $"model '{r.Options.ModelKey ?? models.Value.Default}' does not accept images; pick a vision model with model_key");

        // Checked before anything is written, so a refused request changes nothing. Two submissions racing at the
        // limit may both pass (the cap is a fairness bound, not an exact quota); that overshoot is at most the race.
        var cap = limits.Value.MaxActivePerUser;
        if (await active.CountRunningAsync(r.Caller.UserId, ct) >= cap)
            return new(null, 429, $"too many tasks: you already have {cap} queued or running (the limit per user); wait for one to finish or cancel one, then retry");

        var now = UnixTime.Now();
        var conversationId = r.ConversationId;
        var create = false;
        if (conversationId is null)
        {
            conversationId = await ConversationIds.CreateAsync(store, r.Caller.UserId, ct);
        }
        else if (await store.GetConversationAsync(r.Caller.UserId, conversationId, ct) is null)
        {
            if (!r.CreateConversationIfMissing) return new(null, 404, $"conversation '{conversationId}' not found");
            create = true;
        }

        var task = new TaskRecord
        {
            Id = r.TaskId ?? Guid.NewGuid().ToString(),
            ConversationId = conversationId,
            UserId = r.Caller.UserId,
            Status = TaskStatus.Running,
            Query = r.Options.Message ?? "",
            Options = r.Options.ToJson(),
            CreatedAt = now,
            UpdatedAt = now,
            // Where this task's trace began: its resume, cancel and retries link back to it.
            TraceParent = TraceParent.Current(),
        };
        switch (await store.CreateTaskAsync(task, create, ct))
        {
            case CreateTaskResult.ConversationBusy:
                return new(null, 409, $"conversation '{conversationId}' already has a running or interrupted task; wait for it, resume it or cancel it");
            case CreateTaskResult.DuplicateTaskId:
                return new(null, 409, $"task_id '{task.Id}' already exists");
            case CreateTaskResult.ConversationNotFound:
                return new(null, 404, $"conversation '{conversationId}' not found");
        }
        TaskApiTelemetry.TasksAccepted.Add(1, new KeyValuePair<string, object?>("model", r.Options.ModelKey ?? models.Value.Default),
            new("mode", TaskApiTelemetry.ModeOf(r.Options)));
        await dispatcher.DispatchAsync(task, "new", ct);
        return new(task, 202, null);
    }
}
