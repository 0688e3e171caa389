using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using TaskStatus = Agents.Micro.Storage.Tasks.TaskStatus;

namespace Agents.Micro.Storage.Tests;

public sealed class TaskStoreTests(StoreFixture fx) : IClassFixture<StoreFixture>
{
    public static TheoryData<string> Providers => ["postgres", "sqlite"];

    private static async Task<TaskRecord> NewTaskAsync(ITaskStore store, string user = "alice", string? conversation = null)
    {
        var now = UnixTime.Now();
        conversation ??= "c-" + Guid.NewGuid().ToString("N")[..8];
        var t = new TaskRecord
        {
            Id = Guid.NewGuid().ToString(), ConversationId = conversation, UserId = user, Status = TaskStatus.Running,
            Query = "q", Options = new TaskOptions { Message = "q" }.ToJson(), CreatedAt = now, UpdatedAt = now,
        };
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(t, createConversation: true));
        return t;
    }

    private static NewEvent Ev(string type, string json = "{}") => new(type, json, UnixTime.Now());

    private static async Task<TaskLease> ClaimAsync(ITaskStore store, string taskId, string owner = "w1", double lease = 30)
    {
        var now = UnixTime.Now();
        var claimed = await store.TryClaimAsync(taskId, owner, now + lease, now);
        Assert.NotNull(claimed);
        return new TaskLease(taskId, claimed.Attempt, owner);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Commit_OfDataWithANulCharacter_IsStored_WithTheReplacementCharacter(string provider)
    {
        // A tool that read a binary or UTF-16 file hands back NULs; PostgreSQL's JSONB refuses \u0000 outright.
        var store = fx.Get(provider);
        var t = await NewTaskAsync(store);
        var lease = await ClaimAsync(store, t.Id);
        var data = System.Text.Json.JsonSerializer.Serialize(new { result = "PNG\0\0IHDR" });
        await store.CommitAsync(lease, [Ev("tool_end", data)], checkpoint: (1, System.Text.Json.JsonSerializer.Serialize(new { m = "a\0b" })),
            history: [new HistoryMessage { Role = "tool", Content = data }]);
        var stored = (await store.ReadEventsAsync(t.Id, 0, 10)).Single();
        Assert.Equal("PNG\uFFFD\uFFFDIHDR", System.Text.Json.JsonDocument.Parse(stored.Data).RootElement.GetProperty("result").GetString());
        Assert.Contains("\uFFFD", System.Text.Json.JsonDocument.Parse((await store.LoadCheckpointAsync(t.Id))!.Value.StateJson).RootElement.GetProperty("m").GetString());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Commit_AppendsGaplessIndexesAcrossBatches_AndReadsFromOffset(string provider)
    {
        var store = fx.Get(provider);
        var t = await NewTaskAsync(store);
        var lease = await ClaimAsync(store, t.Id);
        Assert.Equal(3, await store.CommitAsync(lease, [Ev("task_started"), Ev("text_chunk", """{"content":"a"}"""), Ev("text_chunk", """{"content":"b"}""")]));
        var many = Enumerable.Range(0, 250).Select(i => Ev("text_chunk", $$"""{"content":"{{i}}"}""")).ToList();
        Assert.Equal(253, await store.CommitAsync(lease, many));
        Assert.Equal(254, await store.CommitAsync(lease, [Ev("task_completed", """{"result":{"text":"x"}}""")], new TaskTransition.Complete("""{"text":"x"}""")));

        var all = await store.ReadEventsAsync(t.Id, 0, 1000);
        Assert.Equal(Enumerable.Range(0, 254).Select(i => (long)i), all.Select(e => e.Idx));
        Assert.Equal("""{"content":"b"}""", all[2].Data.Replace(" ", ""));
        var tail = await store.ReadEventsAsync(t.Id, 250, 1000);
        Assert.Equal([250L, 251, 252, 253], tail.Select(e => e.Idx));
        Assert.Equal("task_completed", tail[^1].Type);
        var done = await store.GetTaskAsync(t.Id);
        Assert.Equal(TaskStatus.Completed, done!.Status);
        Assert.Null(done.LeaseOwner);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Progress_OfManyTasks_IsEachLogsEndAndStatus_AndLeavesOutTasksThatDoNotExist(string provider)
    {
        var store = fx.Get(provider);
        var running = await NewTaskAsync(store);
        var done = await NewTaskAsync(store);
        await store.CommitAsync(await ClaimAsync(store, running.Id), [Ev("task_started"), Ev("text_chunk", """{"content":"a"}""")]);
        await store.CommitAsync(await ClaimAsync(store, done.Id), [Ev("task_completed", """{"result":{"text":"x"}}""")], new TaskTransition.Complete("""{"text":"x"}"""));
        // More ids than one statement takes (500), nearly all of them unknown.
        var ids = Enumerable.Range(0, 1200).Select(i => "missing-" + i).Append(running.Id).Append(done.Id).ToList();

        var progress = await store.GetProgressAsync(ids);

        Assert.Equal(2, progress.Count);
        Assert.Equal((2L, TaskStatus.Running), (progress[running.Id].NextIdx, progress[running.Id].Status));
        Assert.Equal((1L, TaskStatus.Completed), (progress[done.Id].NextIdx, progress[done.Id].Status));
        Assert.Empty(await store.GetProgressAsync([]));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Commit_FromAnOldAttempt_IsFencedOffAndWritesNothing(string provider)
    {
        var store = fx.Get(provider);
        var t = await NewTaskAsync(store);
        var first = await ClaimAsync(store, t.Id, "w1", lease: -1); // already expired: as if w1 was paused past its lease
        await store.CommitAsync(first, [Ev("task_started")]);
        var second = await ClaimAsync(store, t.Id, "w2");
        Assert.Equal(first.Attempt + 1, second.Attempt);

        await Assert.ThrowsAsync<LeaseLostException>(() => store.CommitAsync(first, [Ev("text_chunk")], new TaskTransition.Complete("{}")));
        await store.CommitAsync(second, [Ev("attempt_restarted")]);
        var events = await store.ReadEventsAsync(t.Id, 0, 100);
        Assert.Equal(["task_started", "attempt_restarted"], events.Select(e => e.Type));
        Assert.Equal(TaskStatus.Running, (await store.GetTaskAsync(t.Id))!.Status);
        Assert.Null(await store.RenewLeaseAsync(first, UnixTime.Now() + 30));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Claim_ByTenConcurrentWorkers_HasExactlyOneWinner(string provider)
    {
        var store = fx.Get(provider);
        var t = await NewTaskAsync(store);
        var now = UnixTime.Now();
        var claims = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => store.TryClaimAsync(t.Id, "w" + i, now + 30, now)));
        Assert.Single(claims, c => c is not null);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task CreateTask_WhileConversationHasActiveTask_IsRefusedUntilItEnds(string provider)
    {
        var store = fx.Get(provider);
        var first = await NewTaskAsync(store);
        var now = UnixTime.Now();
        var second = new TaskRecord
        {
            Id = Guid.NewGuid().ToString(), ConversationId = first.ConversationId, UserId = "alice", Query = "again",
            Options = "{}", CreatedAt = now, UpdatedAt = now,
        };
        Assert.Equal(CreateTaskResult.ConversationBusy, await store.CreateTaskAsync(second, false));
        Assert.Equal(CreateTaskResult.DuplicateTaskId, await store.CreateTaskAsync(new TaskRecord
        {
            Id = first.Id, ConversationId = "other", UserId = "alice", Query = "x", Options = "{}", CreatedAt = now, UpdatedAt = now,
        }, true));

        var lease = await ClaimAsync(store, first.Id);
        await store.CommitAsync(lease, [Ev("task_completed")], new TaskTransition.Complete("{}"));
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(second, false));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task CreateTask_ConcurrentlyInOneConversation_AcceptsExactlyOne(string provider)
    {
        var store = fx.Get(provider);
        var conv = "busy-" + Guid.NewGuid().ToString("N")[..6];
        var now = UnixTime.Now();
        await store.CreateConversationAsync(new Conversation { Id = conv, UserId = "alice", CreatedAt = now, UpdatedAt = now });
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => store.CreateTaskAsync(new TaskRecord
        {
            Id = Guid.NewGuid().ToString(), ConversationId = conv, UserId = "alice", Query = "x", Options = "{}", CreatedAt = now, UpdatedAt = now,
        }, false)));
        Assert.Single(results, r => r == CreateTaskResult.Created);
        Assert.All(results.Where(r => r != CreateTaskResult.Created), r => Assert.Equal(CreateTaskResult.ConversationBusy, r));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Cancel_UnclaimedTask_EndsItAtOnce_AndAWorkerCanNoLongerClaimIt(string provider)
    {
        var store = fx.Get(provider);
        var t = await NewTaskAsync(store);
        Assert.Equal(CancelOutcome.CancelledNow, await store.CancelAsync(t.Id, "user", UnixTime.Now()));
        var events = await store.ReadEventsAsync(t.Id, 0, 10);
        Assert.Equal(["task_cancelled"], events.Select(e => e.Type));
        Assert.Null(await store.TryClaimAsync(t.Id, "w1", UnixTime.Now() + 30, UnixTime.Now()));
        Assert.Equal(CancelOutcome.AlreadyFinished, await store.CancelAsync(t.Id, "user", UnixTime.Now()));
        Assert.Equal(CancelOutcome.NotFound, await store.CancelAsync("no-such-task", "user", UnixTime.Now()));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Cancel_HeldTask_FlagsItForItsWorker(string provider)
    {
        var store = fx.Get(provider);
        var t = await NewTaskAsync(store);
        var lease = await ClaimAsync(store, t.Id);
        Assert.Equal(CancelOutcome.Requested, await store.CancelAsync(t.Id, "user", UnixTime.Now()));
        Assert.True(await store.RenewLeaseAsync(lease, UnixTime.Now() + 30));
        Assert.Empty(await store.ReadEventsAsync(t.Id, 0, 10));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Resume_TwentyConcurrentDecisions_ExactlyOneWins(string provider)
    {
        var store = fx.Get(provider);
        var t = await NewTaskAsync(store);
        var lease = await ClaimAsync(store, t.Id);
        await store.CommitAsync(lease, [Ev("task_started"), Ev("interrupt")], new TaskTransition.Interrupt("int_1", """{"interrupt_id":"int_1"}"""), (1, "{}"));
        Assert.Equal(TaskStatus.Interrupted, (await store.GetTaskAsync(t.Id))!.Status);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            store.ResumeAsync(t.Id, "int_1", $$"""{"type":"accept","n":{{i}}}""", Ev("resumed"))));
        Assert.Single(outcomes, o => o == ResumeOutcome.Resumed);
        Assert.All(outcomes.Where(o => o != ResumeOutcome.Resumed), o => Assert.Equal(ResumeOutcome.NotInterrupted, o));
        var events = await store.ReadEventsAsync(t.Id, 0, 10);
        Assert.Equal(["task_started", "interrupt", "resumed"], events.Select(e => e.Type));
        Assert.Equal(ResumeOutcome.WrongInterrupt, await WrongInterruptAsync(store));
    }

    private static async Task<ResumeOutcome> WrongInterruptAsync(ITaskStore store)
    {
        var t = await NewTaskAsync(store);
        var lease = await ClaimAsync(store, t.Id);
        await store.CommitAsync(lease, [Ev("interrupt")], new TaskTransition.Interrupt("int_a", "{}"));
        return await store.ResumeAsync(t.Id, "int_b", "{}", Ev("resumed"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task History_IsSavedWithTheCompletion_AndLoadedInOrderWithinTheBudget(string provider)
    {
        var store = fx.Get(provider);
        var t = await NewTaskAsync(store, "bob");
        var lease = await ClaimAsync(store, t.Id);
        var msgs = Enumerable.Range(0, 5).Select(i => new HistoryMessage { Role = i % 2 == 0 ? "user" : "assistant", Content = $$"""{"content":"m{{i}}"}""" }).ToList();
        await store.CommitAsync(lease, [Ev("task_completed")], new TaskTransition.Complete("{}"), history: msgs);
        var all = await store.LoadHistoryAsync("bob", t.ConversationId, 100);
        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], all.Select(m => System.Text.Json.JsonDocument.Parse(m.Content).RootElement.GetProperty("content").GetString()));
        var last3 = await store.LoadHistoryAsync("bob", t.ConversationId, 3);
        Assert.Equal([2L, 3, 4], last3.Select(m => m.Seq));
        Assert.Empty(await store.LoadHistoryAsync("alice", t.ConversationId, 100));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Checkpoint_IsReplacedByTheLatestStep(string provider)
    {
        var store = fx.Get(provider);
        var t = await NewTaskAsync(store);
        var lease = await ClaimAsync(store, t.Id);
        await store.CommitAsync(lease, [], checkpoint: (1, """{"step":1}"""));
        await store.CommitAsync(lease, [], checkpoint: (2, """{"step":2}"""));
        var cp = await store.LoadCheckpointAsync(t.Id);
        Assert.Equal(2, cp!.Value.Step);
        Assert.Contains("2", cp.Value.StateJson);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task FindStranded_ReturnsUndispatchedAndExpiredButNotFreshlyHeld(string provider)
    {
        var store = fx.Get(provider);
        var undispatched = await NewTaskAsync(store, "stranded");
        var held = await NewTaskAsync(store, "stranded");
        var expired = await NewTaskAsync(store, "stranded");
        await ClaimAsync(store, held.Id, "w1", lease: 60);
        await ClaimAsync(store, expired.Id, "w2", lease: -5);
        var ids = (await store.FindStrandedAsync(UnixTime.Now(), UnixTime.Now() - 30, 1000)).Select(t => t.Id).ToList();
        Assert.Contains(undispatched.Id, ids);
        Assert.Contains(expired.Id, ids);
        Assert.DoesNotContain(held.Id, ids);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task DeleteConversation_RemovesItsTasksEventsCheckpointsAndHistory_OnlyForThatUser(string provider)
    {
        var store = fx.Get(provider);
        var mine = await NewTaskAsync(store, "carol", "shared-name");
        var theirs = await NewTaskAsync(store, "dave", "shared-name");
        var lease = await ClaimAsync(store, mine.Id);
        await store.CommitAsync(lease, [Ev("task_completed")], new TaskTransition.Complete("{}"), (1, "{}"), [new HistoryMessage { Role = "user", Content = "{}" }]);

        Assert.True(await store.DeleteConversationAsync("carol", "shared-name"));
        Assert.Null(await store.GetTaskAsync(mine.Id));
        Assert.Empty(await store.ReadEventsAsync(mine.Id, 0, 10));
        Assert.Null(await store.LoadCheckpointAsync(mine.Id));
        Assert.Empty(await store.LoadHistoryAsync("carol", "shared-name", 10));
        Assert.NotNull(await store.GetTaskAsync(theirs.Id));
        Assert.NotNull(await store.GetConversationAsync("dave", "shared-name"));
        Assert.False(await store.DeleteConversationAsync("carol", "shared-name"));
    }
}
