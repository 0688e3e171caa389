namespace Agents.Micro.Storage.Tasks;

/// <summary>Task statuses (DESIGN.md "Task lifecycle").</summary>
public static class TaskStatus
{
    public const string Running = "running";
    public const string Interrupted = "interrupted";
    public const string Completed = "completed";
    public const string Error = "error";
    public const string Cancelled = "cancelled";
    /// <summary>
    /// Stored only: a message sent with <c>if_busy</c> enqueue, interrupt or rollback to a busy conversation, waiting for
    /// that conversation's task to end. Both APIs show it as <c>running</c> (as they show a task waiting for a worker).
    /// </summary>
    public const string Queued = "queued";

    public static bool IsTerminal(string status) => status is Completed or Error or Cancelled;

    /// <summary>The status as clients see it.</summary>
    public static string Public(string status) => status == Queued ? Running : status;
}

/// <summary>Event types of the event catalogue.</summary>
public static class EventTypes
{
    public const string TaskStarted = "task_started";
    public const string ThinkingChunk = "thinking_chunk";
    public const string TextChunk = "text_chunk";
    public const string ToolStart = "tool_start";
    public const string ToolEnd = "tool_end";
    public const string Interrupt = "interrupt";
    public const string Resumed = "resumed";
    public const string AttemptRestarted = "attempt_restarted";
    public const string TaskCompleted = "task_completed";
    public const string TaskFailed = "task_failed";
    public const string TaskCancelled = "task_cancelled";
    /// <summary>An operator's action on the task (re-dispatch, end), with who and why: the audit trail in the log itself.</summary>
    public const string AdminAction = "admin_action";

    public static bool IsTerminal(string type) => type is TaskCompleted or TaskFailed or TaskCancelled;
}

/// <summary>A conversation (v1) — the same thing as a session (agent API). Ids are scoped to their user.</summary>
public sealed class Conversation
{
    public string Id { get; set; } = "";
    public string UserId { get; set; } = "";
    public string? Title { get; set; }
    public double CreatedAt { get; set; }
    public double UpdatedAt { get; set; }
}

/// <summary>One row of <c>tasks</c>.</summary>
public sealed class TaskRecord
{
    /// <summary>The internal id (globally unique; events, checkpoints, messages and workers use it).</summary>
    public string Id { get; set; } = "";
    /// <summary>
    /// The id clients use, unique within its user only: the agent API's client-chosen <c>task_id</c>, or <see cref="Id"/>
    /// when the server chose it. One user's ids never collide with, or reveal, another's.
    /// </summary>
    public string? ClientId { get; set; }
    /// <summary>The id to show a client.</summary>
    public string PublicId => ClientId ?? Id;
    public string ConversationId { get; set; } = "";
    public string UserId { get; set; } = "";
    public string Status { get; set; } = TaskStatus.Running;
    public string Query { get; set; } = "";
    /// <summary>JSON of <see cref="TaskOptions"/>.</summary>
    public string Options { get; set; } = "{}";
    public long Attempt { get; set; }
    public string? LeaseOwner { get; set; }
    public double? LeaseExpiresAt { get; set; }
    public bool CancelRequested { get; set; }
    public string? Error { get; set; }
    public string? Result { get; set; }
    public string? Interrupt { get; set; }
    public string? InterruptId { get; set; }
    public string? Resume { get; set; }
    public long NextIdx { get; set; }
    public double CreatedAt { get; set; }
    public double UpdatedAt { get; set; }
    public double? DispatchedAt { get; set; }
    public double? ClaimedAt { get; set; }
    public double? FinishedAt { get; set; }
    /// <summary>W3C <c>traceparent</c> of the request that created the task (null when it was not traced).</summary>
    public string? TraceParent { get; set; }
    /// <summary>Graceful hand-backs so far (shutdowns, not crashes): attempts they caused do not count against MaxAttempts.</summary>
    public long Handbacks { get; set; }
    /// <summary>Place in its conversation's queue (status <c>queued</c>): arrival order, given under the conversation's lock.</summary>
    public long? QueueSeq { get; set; }
}

/// <summary>An event to append; its index is assigned by the store.</summary>
public sealed record NewEvent(string Type, string DataJson, double Ts);

/// <summary>A stored event.</summary>
public sealed class StoredEvent
{
    public long Idx { get; set; }
    public string Type { get; set; } = "";
    public string Data { get; set; } = "{}";
    public double Ts { get; set; }
}

/// <summary>One message of a conversation's history (what the model sees next turn).</summary>
public sealed class HistoryMessage
{
    public long Seq { get; set; }
    public string TaskId { get; set; } = "";
    public string Role { get; set; } = "";
    /// <summary>JSON of the message (text, tool calls or tool result).</summary>
    public string Content { get; set; } = "{}";
}

/// <summary>What the worker holds while it runs a task: the fence for every write it makes.</summary>
public sealed record TaskLease(string TaskId, long Attempt, string Owner);

/// <summary>How a step ends the task's current run, if it does.</summary>
public abstract record TaskTransition
{
    public sealed record Complete(string ResultJson) : TaskTransition;
    public sealed record Fail(string Error) : TaskTransition;
    public sealed record Cancel(string Reason) : TaskTransition;
    public sealed record Interrupt(string InterruptId, string InterruptJson) : TaskTransition;
    /// <summary>
    /// Give the task back: it stays running and any worker may claim it. <paramref name="Graceful"/> (a shutdown, a
    /// scale-down, a rolling restart) is counted in <c>handbacks</c>, so the next attempt does not count it as a failure.
    /// </summary>
    public sealed record Release(bool Graceful = false) : TaskTransition;
}

/// <summary>
/// What a worker needs to begin the run it claimed, read (and its first event written) in the claim's own transaction:
/// the task as claimed (<see cref="TaskRecord.NextIdx"/> after <c>task_started</c> when that was written), its last
/// checkpoint, and — for a run without one — the conversation's recent history.
/// </summary>
/// <param name="Started">True when this claim wrote the task's <c>task_started</c> (its first start).</param>
public sealed record ClaimedRun(TaskRecord Task, (long Step, string StateJson)? Checkpoint, IReadOnlyList<HistoryMessage> History, bool Started);

/// <summary>How a claim begins a run: the first start's event (null: write none) and how much history to read.</summary>
public sealed record ClaimRequest(Func<TaskRecord, NewEvent>? StartedEvent = null, int HistoryMaxMessages = 0);

/// <summary>One task's step to commit (<see cref="ITaskStore.CommitAsync"/>); several tasks' steps commit together in <see cref="ITaskStore.CommitManyAsync"/>.</summary>
public sealed record CommitRequest(TaskLease Lease, IReadOnlyList<NewEvent> Events, TaskTransition? Transition = null,
    (long Step, string StateJson)? Checkpoint = null, IReadOnlyList<HistoryMessage>? History = null, long? ExpectedNextIdx = null,
    IReadOnlyList<Usage.ModelUsage>? Usage = null)
{
    /// <summary>The step frees the task's lease for someone else's turn (it ended or waits for a human).</summary>
    public bool FreesSlot => Transition is TaskTransition.Complete or TaskTransition.Fail or TaskTransition.Cancel or TaskTransition.Interrupt;
}

/// <summary>
/// What became of a group commit: per request (in order) the log's next index, or why it was refused
/// (<see cref="LeaseLostException"/>, <see cref="LogMovedException"/>, or the database's error for data it refused) — a
/// refused request wrote nothing — and the waiting tasks that can run now, one per slot the batch freed.
/// </summary>
public sealed record CommitBatchResult(IReadOnlyList<(long NextIdx, Exception? Refused)> Outcomes, IReadOnlyList<(string Id, string UserId)> Turns);

public enum CreateTaskResult { Created, ConversationBusy, DuplicateTaskId, ConversationNotFound, TooManyActive, ConversationExists }

/// <summary>What a send does when its conversation already has a running or interrupted task (<c>if_busy</c>).</summary>
public static class IfBusy
{
    /// <summary>Refuse (409): the default, as both specs say.</summary>
    public const string Reject = "reject";
    /// <summary>Queue the new message; it runs when the current task ends, after any queued before it.</summary>
    public const string Enqueue = "enqueue";
    /// <summary>Stop the current task at its next step (its output so far stays, and the new task sees it), then run.</summary>
    public const string Interrupt = "interrupt";
    /// <summary>Cancel the current task and remove its turn from the history, then run.</summary>
    public const string Rollback = "rollback";

    public static readonly string[] All = [Reject, Enqueue, Interrupt, Rollback];
}

public enum CancelOutcome { CancelledNow, Requested, AlreadyFinished, NotFound }

public enum ResumeOutcome { Resumed, NotInterrupted, WrongInterrupt, NotFound }

/// <summary>Thrown when a write is fenced off: another attempt owns the task now, or it already ended.</summary>
/// <summary>The log has moved past the index a commit expected, under the same lease: an earlier commit landed.</summary>
public sealed class LogMovedException(string taskId, long nextIdx) : Exception($"task {taskId}: the log is already at {nextIdx}")
{
    public long NextIdx { get; } = nextIdx;
}

public sealed class LeaseLostException(string taskId) : Exception($"task {taskId}: lease lost (another attempt owns it, or it ended)");

/// <summary>How far a task's log is (its next event index) and its status.</summary>
public sealed record TaskProgress(string Id, long NextIdx, string Status);
