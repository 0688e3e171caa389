using Agents.Micro.Storage.Usage;
using System.Data.Common;
using Agents.Micro.AgentWorker.Tools;
using Agents.Micro.ServiceDefaults.Data;

namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>
/// Runs one task on this worker: claims it (a new attempt), keeps the lease alive, continues from the last checkpoint,
/// and ends the run the way it was stopped — completed, interrupted, failed, cancelled, or handed back on shutdown.
/// A worker that lost its lease writes nothing more: every write is fenced by the attempt.
/// </summary>
public sealed class TaskRunner(
    ITaskStore store,
    RunningTasks running,
    ToolRegistry tools,
    ModelFactory models,
    WorkerIdentity worker,
    GroupCommitter committer,
    EventNotifier notifier,
    RunStateLoader states,
    IImageLoader images,
    UsageBudget budget,
    ISendEndpointProvider send,
    IOptions<WorkerOptions> options,
    ILogger<TaskRunner> log)
{
    public async Task RunAsync(string taskId, CancellationToken consumerToken)
    {
        var o = options.Value;
        if (running.Draining)
        {
            await HandBackAsync(taskId, consumerToken);
            return;
        }
        // A command is a turn for whichever task should run next (the fair scheduler picks it), preferably its own. The
        // claim also reads what the run starts from and, on a first start, appends task_started: one transaction.
        var run = await store.ClaimRunAsync(taskId, worker.Id, o.LeaseSeconds, o.MaxRunningPerUser,
            new ClaimRequest(StartedEvent, o.HistoryMaxMessages), consumerToken);
        if (run is null)
        {
            log.LogDebug("nothing to claim for {TaskId} (finished, held, gone, or its user is at Worker:MaxRunningPerUser)", taskId);
            return;
        }
        // When the run ends (or waits for a human), the commit that says so also finds the task that may use the freed
        // slot and sends it a turn (GroupCommitter).
        await RunClaimedAsync(run, run.Task.Id != taskId);
    }

    /// <summary>The <c>task_started</c> event of a task's first start, written by the claim.</summary>
    private NewEvent StartedEvent(TaskRecord task)
    {
        var taskOptions = TaskOptions.FromJson(task.Options);
        return new NewEvent(EventTypes.TaskStarted, System.Text.Json.JsonSerializer.Serialize(new
        {
            conversation_id = task.ConversationId,
            model_key = taskOptions.ModelKey ?? models.Definition(null)?.Model ?? "local",
            run_mode = RunSettings.From(taskOptions).Mode,
            attempt = task.Attempt,
        }, EventLog.Json), UnixTime.Now());
    }

    private async Task RunClaimedAsync(ClaimedRun run, bool claimedForAnother)
    {
        var o = options.Value;
        var task = run.Task;
        var now = UnixTime.Now();

        var lease = new TaskLease(task.Id, task.Attempt, worker.Id);
        using var handle = running.Register(task.Id);
        var taskOptions = TaskOptions.FromJson(task.Options);
        var tags = new TagList
        {
            { "model", taskOptions.ModelKey ?? models.DefaultKey },
            { "mode", RunSettings.From(taskOptions).Mode },
        };
        // A resume, a retry or a hand-off runs in the trace of the command that caused it; the link leads to the
        // trace of the request that created the task (none when this is that trace).
        // A task that got another task's turn runs in the trace of the request that created it.
        var parent = claimedForAnother && ActivityContext.TryParse(task.TraceParent, null, out var own) ? own : default;
        using var activity = AgentsTelemetry.Source.StartActivity("task.run", ActivityKind.Internal, parent,
            links: parent == default ? TraceParent.LinksTo(task.TraceParent, "continues") : []);
        activity?.SetTag("agents.task_id", task.Id);
        activity?.SetTag("agents.attempt", task.Attempt);
        activity?.SetTag("agents.worker", worker.Id);
        activity?.SetTag("agents.model_key", tags[0].Value);
        activity?.SetTag("agents.run_mode", tags[1].Value);
        handle.TraceParent = task.TraceParent;
        AgentMetrics.ActiveTasks.Add(1);
        // Queue wait is accepted → first claim; later claims (resumes, retries) wait on people or failures, not the queue.
        if (task.Attempt == 1) AgentMetrics.QueueWait.Record(Math.Max(0, now - task.CreatedAt), tags);
        var started = Stopwatch.StartNew();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(handle.Token);
        linked.CancelAfter(TimeSpan.FromSeconds(o.TaskTimeoutSeconds));
        Action<long, bool, bool> notify = (next, terminal, paused) => notifier.Notify(task.Id, next, terminal, paused);
        var eventLog = new EventLog(store, lease, o.EventFlushMs, notify, committer.CommitAsync)
        {
            NextIndex = task.NextIdx,
            Limits = (o.MaxEventsPerTask, o.MaxEventBytesPerTask),
        };
        var outcome = "unknown";
        log.LogInformation("task {TaskId} attempt {Attempt} started on {Worker} (model {ModelKey}, mode {RunMode})",
            task.Id, task.Attempt, worker.Id, tags[0].Value, tags[1].Value);
        try
        {
            if (task.CancelRequested) handle.Stop(StopReason.UserCancel);
            outcome = await RunLoopAsync(run, eventLog, notify, linked.Token);
        }
        catch (OperationCanceledException) when (handle.Reason != StopReason.None || linked.IsCancellationRequested)
        {
            outcome = await StopAsync(task, eventLog, handle.Reason == StopReason.None ? StopReason.Timeout : handle.Reason, graceful: true);
        }
        catch (LeaseLostException)
        {
            outcome = "lease_lost";
            log.LogWarning("task {TaskId} attempt {Attempt}: lease lost; this worker stops writing to it", task.Id, task.Attempt);
        }
        catch (Exception ex) when (IsBadData(ex))
        {
            // The database refused what the run tried to write (invalid data, a violated constraint): handing the task
            // back would only repeat the same write on the next worker. End it with the reason instead.
            outcome = "error";
            log.LogError(ex, "task {TaskId}: the database refused its data", task.Id);
            await TryEndAsync(eventLog, EventTypes.TaskFailed, new { error = "the task produced data the database refused: " + ex.Message },
                new TaskTransition.Fail("the task produced data the database refused: " + ex.Message));
        }
        catch (Exception ex) when (ex is DbException || ex.InnerException is DbException)
        {
            // The database went away under the run (a restart, a failover, a dropped connection). That is no reason to
            // fail the task: hand it back so it continues from its last checkpoint; if the database is still away the
            // hand-back fails too and the lease expires instead. MaxAttempts bounds a database that never comes back.
            outcome = "database_error";
            log.LogWarning("task {TaskId} attempt {Attempt}: database error ({Error}); handing it back", task.Id, task.Attempt, ex.Message);
            await StopAsync(task, eventLog, StopReason.Shutdown, graceful: false);
        }
        catch (Exception ex)
        {
            outcome = "error";
            log.LogError(ex, "task {TaskId} failed", task.Id);
            await TryEndAsync(eventLog, EventTypes.TaskFailed, new { error = ex.Message }, new TaskTransition.Fail(ex.Message));
        }
        finally
        {
            running.Unregister(handle);
            AgentMetrics.ActiveTasks.Add(-1);
            var finished = tags;
            finished.Add("outcome", outcome);
            AgentMetrics.TasksFinished.Add(1, finished);
            AgentMetrics.TaskDuration.Record(started.Elapsed.TotalSeconds, finished);
            activity?.SetTag("agents.outcome", outcome);
            log.LogInformation("task {TaskId} attempt {Attempt} ended: {Outcome} after {DurationMs} ms", task.Id, task.Attempt, outcome, (long)started.Elapsed.TotalMilliseconds);
            if (outcome is "error" or "timeout" or "gave_up") activity?.SetStatus(ActivityStatusCode.Error, outcome);
        }
    }

    private async Task<string> RunLoopAsync(ClaimedRun run, EventLog eventLog, Action<long, bool, bool> notify, CancellationToken ct)
    {
        var o = options.Value;
        var task = run.Task;
        var taskOptions = TaskOptions.FromJson(task.Options);
        var settings = RunSettings.From(taskOptions);
        var model = models.Create(taskOptions.ModelKey)
            ?? throw new InvalidOperationException($"model_key '{taskOptions.ModelKey}' is not configured on this worker");
        var checkpoint = run.Checkpoint;
        AgentState state;
        ResumeDecision? decision = null;
        if (checkpoint is null)
        {
            if (run.Started)
            {
                // task_started was committed with the claim, so a client sees its task picked up without waiting for the
                // memory recall (a request to another service) that follows.
                notify(task.NextIdx, false, false);
                AgentMetrics.TasksStarted.Add(1, new KeyValuePair<string, object?>("model", taskOptions.ModelKey ?? models.DefaultKey), new("mode", settings.Mode));
            }
            else
            {
                // The previous attempt died between task_started and the first checkpoint: nothing else was written.
                if (task.Attempt - task.Handbacks > o.MaxAttempts)
                {
                    var error = $"gave up after {o.MaxAttempts} attempts: the task's worker stopped {task.Attempt - 1 - task.Handbacks} times before it could start";
                    eventLog.Add(EventTypes.TaskFailed, new { error });
                    await eventLog.CommitAsync(new TaskTransition.Fail(error), ct: ct);
                    return "gave_up";
                }
                eventLog.Add(EventTypes.AttemptRestarted, new { attempt = task.Attempt, from_step = 0 });
                await eventLog.CommitAsync(ct: ct);
            }
            state = await states.NewStateAsync(task, taskOptions, settings, run.History, tools.UnavailableNote(), ct);
            // Attempts that died before the first checkpoint count against MaxAttempts like later restarts (graceful
            // hand-backs do not).
            state.Restarts = (int)Math.Max(0, task.Attempt - 1 - task.Handbacks);
            state.HandbacksSeen = task.Handbacks;
            // The first checkpoint (the prompt as built, the log position before any model output) rides on the next
            // commit — the stream's first flush or the step's end — instead of a commit of its own. A run that dies
            // before it starts over from the history and the recall, which is all this one did.
            eventLog.CheckpointWithNextCommit(state);
        }
        else
        {
            state = AgentState.FromJson(checkpoint.Value.StateJson);
            eventLog.Bytes = state.EventBytes;
            decision = ResumeDecision.FromJson(task.Resume);
            var isResume = state.Pending is not null && decision?.InterruptId == state.Pending.InterruptId;
            // The previous attempt handed the task back on a shutdown (a rolling restart, a scale-down): not a failure.
            // Accounted on every claim, a resume too, so that a later crash is never mistaken for a hand-back.
            var handedBack = task.Handbacks > state.HandbacksSeen;
            state.HandbacksSeen = task.Handbacks;
            if (!isResume)
            {
                if (!handedBack) state.Restarts++;
                if (state.Restarts >= o.MaxAttempts)
                {
                    var error = $"gave up after {o.MaxAttempts} attempts: the task's worker stopped {state.Restarts} times before it could finish";
                    eventLog.Add(EventTypes.TaskFailed, new { error });
                    await eventLog.CommitAsync(new TaskTransition.Fail(error), ct: ct);
                    return "gave_up";
                }
                await states.CollectUnfinishedStreamAsync(task, state, ct);
                eventLog.Add(EventTypes.AttemptRestarted, new { attempt = task.Attempt, from_step = state.Step });
                await eventLog.CommitAsync(checkpoint: state, ct: ct);
            }
        }

        var context = new ToolContext(task.UserId, task.Id, task.ConversationId);
        var loop = new AgentLoop(model, tools, eventLog, state, settings, context, (p, c) => images.LoadAsync(task.UserId, p, c), budget);
        var outcome = await loop.RunAsync(decision, ct);
        return outcome == LoopOutcome.Completed ? "completed" : "interrupted";
    }

    /// <param name="graceful">A hand-back on shutdown (not counted as a failed attempt); false when the database failed under the run.</param>
    private async Task<string> StopAsync(TaskRecord task, EventLog eventLog, StopReason reason, bool graceful)
    {
        switch (reason)
        {
            case StopReason.UserCancel:
                await TryEndAsync(eventLog, EventTypes.TaskCancelled, new { reason = "cancelled by user" }, new TaskTransition.Cancel("cancelled by user"));
                return "cancelled";
            case StopReason.Timeout:
                var error = $"timed out after {options.Value.TaskTimeoutSeconds} s";
                await TryEndAsync(eventLog, EventTypes.TaskFailed, new { error }, new TaskTransition.Fail(error));
                return "timeout";
            case StopReason.Shutdown:
                // Hand the task back: events so far are kept, the checkpoint is the last step, and another worker is told at once.
                try
                {
                    eventLog.DiscardEndings();
                    await eventLog.CommitAsync(new TaskTransition.Release(graceful));
                    await HandBackAsync(task.Id, CancellationToken.None);
                }
                catch (LeaseLostException)
                {
                    log.LogWarning("task {TaskId} attempt {Attempt}: lease lost; this worker stops writing to it", task.Id, task.Attempt);
                    return "lease_lost";
                }
                catch (Exception ex)
                {
                    log.LogWarning("task {TaskId}: could not hand back on shutdown ({Error}); its lease will expire instead", task.Id, ex.Message);
                }
                return "handed_back";
            default:
                log.LogWarning("task {TaskId} attempt {Attempt}: lease lost; this worker stops writing to it", task.Id, task.Attempt);
                return "lease_lost";
        }
    }

    // SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation) are about the data, not the server.
    /// <summary>
    /// The database refused the data itself (class 22 data exception, 23 constraint): another attempt would write the
    /// same thing and be refused again. (A database that cannot store UTF-8 at all is refused at start-up instead.)
    /// </summary>
    private static bool IsBadData(Exception ex) =>
        (ex as Npgsql.PostgresException ?? ex.InnerException as Npgsql.PostgresException)?.SqlState is { Length: 5 } state
        && (state.StartsWith("22", StringComparison.Ordinal) || state.StartsWith("23", StringComparison.Ordinal));

    private async Task TryEndAsync(EventLog eventLog, string type, object data, TaskTransition transition)
    {
        try
        {
            eventLog.DiscardEndings();
            eventLog.DropPendingCheckpoint();
            eventLog.Add(type, data);
            await eventLog.CommitAsync(transition);
        }
        catch (LeaseLostException)
        {
            log.LogInformation("task {TaskId}: already ended elsewhere", eventLog.Lease.TaskId);
        }
        catch (Exception ex)
        {
            log.LogError(ex, "task {TaskId}: could not record its end; the lease will expire and it will be retried", eventLog.Lease.TaskId);
        }
    }

    private async Task HandBackAsync(string taskId, CancellationToken ct)
    {
        var endpoint = await send.GetSendEndpoint(QueueNames.AgentTasksAddress);
        var task = await store.GetTaskAsync(taskId, ct);
        await endpoint.Send(new RunTask(taskId, task?.UserId ?? "", "handoff"), ct);
    }
}
