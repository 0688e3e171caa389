namespace Agents.Micro.Storage.Tasks;

/// <summary>
/// Conversations, tasks, their event logs, checkpoints and history. Every write a worker makes is fenced by its
/// <see cref="TaskLease"/>: once another attempt has claimed the task, or it ended, the write fails and changes nothing.
/// </summary>
public interface ITaskStore
{
    Task EnsureSchemaAsync(CancellationToken ct = default);

    /// <summary>False when the user already has a conversation with that id.</summary>
    Task<bool> CreateConversationAsync(Conversation conversation, CancellationToken ct = default);
    Task<Conversation?> GetConversationAsync(string userId, string conversationId, CancellationToken ct = default);
    Task<IReadOnlyList<Conversation>> ListConversationsAsync(string userId, CancellationToken ct = default);

    /// <summary>
    /// Creates the task (and its conversation if <paramref name="createConversation"/>), atomically refusing a second
    /// active task in one conversation, a client id the user already used, and — exactly, under any concurrency — a
    /// task beyond <paramref name="maxActivePerUser"/> running, queued or interrupted tasks of its user.
    /// </summary>
    /// <param name="freshConversation">Create the conversation, which must not exist yet (<see cref="CreateTaskResult.ConversationExists"/> otherwise).</param>
    Task<CreateTaskResult> CreateTaskAsync(TaskRecord task, bool createConversation, int maxActivePerUser = int.MaxValue, CancellationToken ct = default,
        bool freshConversation = false, string? ifBusy = null);
    /// <summary>By internal id (workers, operators).</summary>
    Task<TaskRecord?> GetTaskAsync(string taskId, CancellationToken ct = default);
    /// <summary>By the id the user knows it by (<see cref="TaskRecord.ClientId"/>); another user's tasks are never found.</summary>
    Task<TaskRecord?> FindTaskAsync(string userId, string clientId, CancellationToken ct = default);
    /// <summary>The user's running, queued and interrupted tasks (what <c>Tasks:MaxActivePerUser</c> bounds).</summary>
    Task<long> CountActiveAsync(string userId, CancellationToken ct = default);
    Task<IReadOnlyList<TaskRecord>> ListTasksAsync(string userId, string conversationId, CancellationToken ct = default);
    Task<IReadOnlyList<StoredEvent>> ReadEventsAsync(string taskId, long from, int limit, CancellationToken ct = default);

    /// <summary>
    /// How far each task's log is and its status, for many tasks at once (a streaming reader's re-check): one statement
    /// per 500 ids, by primary key. A task that does not exist (any more) is missing from the answer.
    /// </summary>
    Task<IReadOnlyDictionary<string, TaskProgress>> GetProgressAsync(IReadOnlyCollection<string> taskIds, CancellationToken ct = default);

    /// <summary>Records when the task's command was sent (null: it was not, and the stranded-task sweep sends it).</summary>
    Task MarkDispatchedAsync(string taskId, double? at, CancellationToken ct = default);
    /// <summary>Running tasks nobody holds whose dispatch is older than <paramref name="dispatchedBefore"/>, or whose lease expired.</summary>
    Task<IReadOnlyList<TaskRecord>> FindStrandedAsync(double now, double dispatchedBefore, int limit, CancellationToken ct = default);

    /// <summary>Claims a running task nobody holds (or whose lease expired): a new attempt. Null when it cannot be claimed.</summary>
    Task<TaskRecord?> TryClaimAsync(string taskId, string owner, double leaseUntil, double now, CancellationToken ct = default);
    /// <summary>
    /// The fair scheduler's claim, made by a worker with a free slot. Among running tasks nobody holds (or whose lease
    /// expired), of users holding fewer than <paramref name="maxRunningPerUser"/> leases, it takes the one whose user
    /// holds the fewest (so users with waiting work take turns), <paramref name="preferredTaskId"/> among equals, then
    /// the oldest; its lease lasts <paramref name="leaseSeconds"/> from the claim. No user ever holds more than the limit,
    /// and a claimer that stops mid-claim blocks no other. Null when nothing can run now.
    /// </summary>
    Task<TaskRecord?> ClaimNextAsync(string? preferredTaskId, string owner, double leaseSeconds, int maxRunningPerUser, CancellationToken ct = default);
    /// <summary>
    /// <see cref="ClaimNextAsync"/> and the start of the run in one transaction: the checkpoint, and for a run without one
    /// the history (<see cref="ClaimRequest.HistoryMaxMessages"/>) and, on its first start, <c>task_started</c>
    /// (<see cref="ClaimRequest.StartedEvent"/>) appended. One commit where a claim, a read, an append and a read were four.
    /// </summary>
    Task<ClaimedRun?> ClaimRunAsync(string? preferredTaskId, string owner, double leaseSeconds, int maxRunningPerUser, ClaimRequest request, CancellationToken ct = default);
    /// <summary>The task <see cref="ClaimNextAsync"/> would take now (id and user), without claiming it.</summary>
    Task<(string Id, string UserId)?> PeekNextAsync(double now, int maxRunningPerUser, CancellationToken ct = default);
    /// <summary>
    /// For a task waiting for a worker (running, nobody holds it): 1 + the waiting tasks the scheduler takes before it,
    /// estimated round-robin across users (each user's k-th waiting task before anyone's k+1-th; the claim also weighs
    /// the leases users hold now, so a user at their running limit can be passed). Null when it is held or not running.
    /// </summary>
    Task<long?> QueuePositionAsync(TaskRecord task, double now, CancellationToken ct = default);

    /// <summary>
    /// Extends, in one statement, every lease <paramref name="owner"/> holds among <paramref name="taskIds"/>: a worker's
    /// heartbeat costs one round trip however many tasks it runs. Returns the renewed ones, each with whether a cancel was
    /// requested; a task missing from the answer is no longer this owner's (its lease was lost or it ended).
    /// </summary>
    Task<IReadOnlyList<(string TaskId, bool CancelRequested)>> RenewLeasesAsync(string owner, IReadOnlyCollection<string> taskIds, double leaseUntil, CancellationToken ct = default);
    /// <summary>Extends the lease. Null when the lease is lost; otherwise whether a cancel was requested.</summary>
    Task<bool?> RenewLeaseAsync(TaskLease lease, double leaseUntil, CancellationToken ct = default);

    /// <summary>
    /// One atomic step: appends <paramref name="events"/> with the next gapless indexes, optionally saves a checkpoint,
    /// history messages and a transition. Returns the next index. Throws <see cref="LeaseLostException"/> when fenced off.
    /// With <paramref name="expectedNextIdx"/> it writes only if the log still ends there; when it has moved on under
    /// the same lease (an earlier commit landed although its answer was lost), <see cref="LogMovedException"/> says where.
    /// </summary>
    Task<long> CommitAsync(TaskLease lease, IReadOnlyList<NewEvent> events, TaskTransition? transition = null,
        (long Step, string StateJson)? checkpoint = null, IReadOnlyList<HistoryMessage>? history = null, CancellationToken ct = default,
        long? expectedNextIdx = null);

    /// <summary>
    /// Group commit: the steps of many tasks in one transaction (on PostgreSQL one round trip), each fenced on its own as
    /// <see cref="CommitAsync"/> fences it — a refused request changes nothing and does not stop the others. When the
    /// batch frees slots, up to <paramref name="turns"/> waiting tasks that can be claimed now (fair order, users below
    /// <paramref name="maxRunningPerUser"/>) are read in the same transaction, for the caller to send a turn to.
    /// </summary>
    /// <remarks>One request alone: <see cref="TaskStoreExtensions.CommitOneAsync"/>.</remarks>
    Task<CommitBatchResult> CommitManyAsync(IReadOnlyList<CommitRequest> requests, int turns = 0, int maxRunningPerUser = int.MaxValue,
        CancellationToken ct = default);

    Task<(long Step, string StateJson)?> LoadCheckpointAsync(string taskId, CancellationToken ct = default);
    Task<IReadOnlyList<HistoryMessage>> LoadHistoryAsync(string userId, string conversationId, int maxMessages, CancellationToken ct = default);

    /// <summary>Cancels at once a task nobody holds (appending <c>task_cancelled</c>); flags a held one for its worker.</summary>
    Task<CancelOutcome> CancelAsync(string taskId, string reason, double now, CancellationToken ct = default);
    /// <summary>Records a human decision for the pending interrupt; exactly one concurrent caller wins.</summary>
    Task<ResumeOutcome> ResumeAsync(string taskId, string? interruptId, string resumeJson, NewEvent resumedEvent, CancellationToken ct = default);

    Task<bool> DeleteTaskAsync(string userId, string taskId, CancellationToken ct = default);
    Task<bool> DeleteConversationAsync(string userId, string conversationId, CancellationToken ct = default);

    /// <summary>
    /// Tasks that look stuck, for an operator: running with a lease that expired before <paramref name="leaseExpiredBefore"/>
    /// (its worker died and nobody took it over), running and never claimed although sent before
    /// <paramref name="unclaimedBefore"/>, or interrupted (waiting for a human) since before <paramref name="interruptedBefore"/>.
    /// </summary>
    Task<IReadOnlyList<TaskRecord>> FindStuckAsync(double leaseExpiredBefore, double unclaimedBefore, double interruptedBefore, int limit, CancellationToken ct = default);
    /// <summary>
    /// An operator's repair of a task no worker holds (running with no live lease): records <paramref name="auditJson"/> as
    /// an <c>admin_action</c> event and clears the stale lease so that a claim can take it. False when a worker holds it or it is not running.
    /// </summary>
    Task<bool> AdminRequeueAsync(string taskId, string auditJson, double now, CancellationToken ct = default);
    /// <summary>
    /// An operator ends a task that has not ended: <c>admin_action</c> then <c>task_failed</c> with <paramref name="error"/>,
    /// status error, the attempt bumped so a worker still running it writes nothing more. False when it already ended.
    /// </summary>
    Task<bool> AdminEndAsync(string taskId, string auditJson, string error, double now, CancellationToken ct = default);

    /// <summary>
    /// One retention pass (at most <paramref name="batch"/> rows of each kind, so a transaction stays small): the events and
    /// checkpoints of tasks that ended before <paramref name="eventsEndedBefore"/>; the rows of tasks that ended before
    /// <paramref name="tasksEndedBefore"/>; a conversation's history beyond its newest <paramref name="historyPerConversation"/>
    /// messages. Never a task that has not ended. Returns the rows deleted (0: nothing left to prune).
    /// </summary>
    /// <summary>Starts the next queued message of every conversation left with a queue but no task (what a promotion missed).</summary>
    Task<int> StartOrphanedQueuesAsync(double now, CancellationToken ct = default);
    Task<long> PruneAsync(double eventsEndedBefore, double tasksEndedBefore, int historyPerConversation, int batch, CancellationToken ct = default);

    Task<long> CountConversationsAsync(CancellationToken ct = default);
    Task<IReadOnlyList<string>> ActiveUsersAsync(CancellationToken ct = default);
}

public static class TaskStoreExtensions
{
    /// <summary>Commits one request on its own: the log's next index, or the reason it was refused, thrown.</summary>
    public static async Task<long> CommitOneAsync(this ITaskStore store, CommitRequest request, CancellationToken ct = default)
    {
        var (next, refused) = (await store.CommitManyAsync([request], ct: ct)).Outcomes[0];
        return refused is null ? next : throw refused;
    }
}
