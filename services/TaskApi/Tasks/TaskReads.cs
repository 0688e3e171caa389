namespace Agents.Micro.TaskApi.Tasks;

public static class TaskReads
{
    /// <summary>
    /// The task row and a page of its events as one consistent picture. They are two reads, and a worker's commit
    /// (events + status, atomically) can land between them: the events would then show <c>task_completed</c> while
    /// the row still says <c>running</c>. Every commit also advances the row's <c>next_idx</c>, so an event at or past
    /// the row's <c>next_idx</c> proves the row is stale; read it again (at most once per race, never in the common case).
    /// <paramref name="taskId"/> is the id the user knows the task by; another user's tasks are not found.
    /// </summary>
    public static async Task<(TaskRecord? Task, IReadOnlyList<StoredEvent> Events)> ReadWithEventsAsync(
        this ITaskStore store, string userId, string taskId, long from, int limit, CancellationToken ct)
    {
        var task = await store.FindTaskAsync(userId, taskId, ct);
        if (task is null) return (null, []);
        var events = await store.ReadEventsAsync(task.Id, from, limit, ct);
        if (events.Count > 0 && events[^1].Idx >= task.NextIdx)
            task = await store.GetTaskAsync(task.Id, ct) ?? task;
        return (task, events);
    }
}
