using System.Diagnostics;
using Agents.Micro.ServiceDefaults.Telemetry;

namespace Agents.Micro.TaskApi.Tasks;

/// <summary>Applies a human decision to an interrupted task: exactly one concurrent resume wins, the rest get 409.</summary>
public sealed class TaskResumer(ITaskStore store, TaskDispatcher dispatcher, TaskSubmitter submitter, Agents.Micro.Storage.Usage.UsageBudget budget)
{
    public async Task<SubmitResult> ResumeAsync(CallerIdentity caller, string taskId, string? sessionId, string? interruptId,
        string? responseType, JsonElement? args, CancellationToken ct)
    {
        var task = await store.FindTaskAsync(caller.UserId, taskId, ct);
        if (task is null || (sessionId is not null && task.ConversationId != sessionId))
            return new(null, 404, $"task '{taskId}' not found");
        // The resume is its own request (its own trace); the link leads to the trace where the task began.
        using var activity = TaskApiTelemetry.Source.StartActivity("task.resume", ActivityKind.Internal, default(ActivityContext),
            links: TraceParent.LinksTo(task.TraceParent, "resumes"));
        activity?.SetTag("agents.task_id", task.Id);
        if (task.Status != TaskStatus.Interrupted || task.Interrupt is null || task.InterruptId is null)
            return new(null, 409, $"task '{taskId}' is {task.Status}, not interrupted: only an interrupted task can be resumed");
        if (interruptId is not null && interruptId != task.InterruptId)
            return new(null, 409, $"interrupt '{interruptId}' is not the task's pending interrupt");

        // A resume is counted like a send: the interrupted task already counts under the cap, so this refuses only a user
        // who is over it (the cap was lowered), never lets one go beyond it.
        var (cap, capError) = submitter.Cap(caller.UserId);
        if (await store.CountActiveAsync(caller.UserId, ct) > cap) return new(null, 429, capError);
        // A spent token budget would fail the task at its next model call: refuse now, and the interrupt keeps until it resets.
        if (await budget.CheckAsync(caller.UserId, 0, crossing: false, ct) is { } spent) return new(null, 429, spent.Message, spent.ResetsAt);

        var allowed = AllowedOf(task.Interrupt);
        var (decision, error) = ResumeDecision.Parse(task.InterruptId, responseType, args, allowed);
        if (decision is null) return new(null, 400, error);

        var resumed = new NewEvent(EventTypes.Resumed, JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["interrupt_id"] = task.InterruptId,
            ["response_type"] = decision.Type,
        }), UnixTime.Now());
        switch (await store.ResumeAsync(task.Id, task.InterruptId, decision.ToJson(), resumed, ct))
        {
            case ResumeOutcome.Resumed:
                TaskApiTelemetry.TasksResumed.Add(1, new KeyValuePair<string, object?>("decision", decision.Type));
                // Readers only need the wake-up; not awaited, so a broker that is down does not slow the answer.
                _ = dispatcher.PublishEventsAppendedAsync(task.Id, task.NextIdx + 1, false, CancellationToken.None);
                await dispatcher.DispatchResumeAsync(task, task.InterruptId, decision.Type, ct);
                return new(task, 200, null);
            case ResumeOutcome.NotFound:
                return new(null, 404, $"task '{taskId}' not found");
            default:
                return new(null, 409, $"task '{taskId}' was already resumed or is no longer interrupted");
        }
    }

    private static IReadOnlyCollection<string> AllowedOf(string interruptJson)
    {
        using var doc = JsonDocument.Parse(interruptJson);
        if (doc.RootElement.TryGetProperty("allowed", out var a) && a.ValueKind == JsonValueKind.Array)
            return a.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList();
        return ResumeDecision.All;
    }
}
