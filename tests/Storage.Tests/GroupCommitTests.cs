using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using TaskStatus = Agents.Micro.Storage.Tasks.TaskStatus;

namespace Agents.Micro.Storage.Tests;

/// <summary>
/// Group commit (issue 18): many tasks' steps in one transaction, each still fenced on its own — what a worker relies on
/// when its runs' commits share a transaction.
/// </summary>
public sealed class GroupCommitTests(StoreFixture fx) : IClassFixture<StoreFixture>
{
    public static TheoryData<string> Providers => ["postgres", "sqlite"];

    private static async Task<(TaskRecord Task, TaskLease Lease)> ClaimedTaskAsync(ITaskStore store, string user)
    {
        var now = UnixTime.Now();
        var t = new TaskRecord
        {
            Id = Guid.NewGuid().ToString(), ConversationId = "c-" + Guid.NewGuid().ToString("N")[..8], UserId = user, Status = TaskStatus.Running,
            Query = "q", Options = new TaskOptions { Message = "q" }.ToJson(), CreatedAt = now, UpdatedAt = now,
        };
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(t, createConversation: true));
        var claimed = await store.TryClaimAsync(t.Id, "w1", now + 30, now);
        Assert.NotNull(claimed);
        return (t, new TaskLease(t.Id, claimed.Attempt, "w1"));
    }

    private static NewEvent Chunk(string text) => new(EventTypes.TextChunk, $$"""{"content":"{{text}}"}""", UnixTime.Now());

    private static string Text(IEnumerable<StoredEvent> events) =>
        string.Concat(events.Select(e => System.Text.Json.JsonDocument.Parse(e.Data).RootElement.GetProperty("content").GetString()));

    [Theory, MemberData(nameof(Providers))]
    public async Task OneBatch_WritesEveryTasksStep_AndARefusedOneChangesNothing_NorStopsTheOthers(string provider)
    {
        var store = fx.Get(provider);
        var user = "gc-" + Guid.NewGuid().ToString("N")[..6];
        var a = await ClaimedTaskAsync(store, user);
        var b = await ClaimedTaskAsync(store, user);
        var lost = await ClaimedTaskAsync(store, user);
        var moved = await ClaimedTaskAsync(store, user);
        await store.CommitAsync(moved.Lease, [Chunk("x")], expectedNextIdx: 0);

        var result = await store.CommitManyAsync(
        [
            new CommitRequest(a.Lease, [Chunk("a1"), Chunk("a2")], Checkpoint: (1, """{"s":"a"}"""), ExpectedNextIdx: 0),
            // Another attempt holds it now: fenced off.
            new CommitRequest(lost.Lease with { Attempt = lost.Lease.Attempt + 1 }, [Chunk("never")], ExpectedNextIdx: 0),
            // Its log is at 1, not 0: an earlier commit of this lease landed.
            new CommitRequest(moved.Lease, [Chunk("again")], ExpectedNextIdx: 0),
            new CommitRequest(b.Lease, [Chunk("b1")], new TaskTransition.Complete("""{"text":"b1"}"""), (2, """{"s":"b"}"""),
                [new HistoryMessage { Role = "user", Content = """{"role":"user","content":"q"}""" }, new HistoryMessage { Role = "assistant", Content = """{"role":"assistant","content":"b1"}""" }], 0),
        ]);

        Assert.Equal((2L, (Exception?)null), result.Outcomes[0]);
        Assert.IsType<LeaseLostException>(result.Outcomes[1].Refused);
        Assert.Equal(1, Assert.IsType<LogMovedException>(result.Outcomes[2].Refused).NextIdx);
        Assert.Equal((1L, (Exception?)null), result.Outcomes[3]);

        Assert.Equal("a1a2", Text(await store.ReadEventsAsync(a.Task.Id, 0, 10)));
        Assert.Equal("""{"s":"a"}""", (await store.LoadCheckpointAsync(a.Task.Id))?.StateJson.Replace(" ", ""));
        Assert.Empty(await store.ReadEventsAsync(lost.Task.Id, 0, 10));
        Assert.Null(await store.LoadCheckpointAsync(lost.Task.Id));
        Assert.Equal("x", Text(await store.ReadEventsAsync(moved.Task.Id, 0, 10)));
        var bRow = await store.GetTaskAsync(b.Task.Id);
        Assert.Equal(TaskStatus.Completed, bRow!.Status);
        Assert.Null(bRow.LeaseOwner);
        Assert.Equal(["user", "assistant"], (await store.LoadHistoryAsync(user, b.Task.ConversationId, 10)).Select(h => h.Role));
        Assert.Equal(2, (await store.GetTaskAsync(a.Task.Id))!.NextIdx);
    }

    [Fact]
    public async Task DataThatPostgresRefuses_FailsOnlyItsOwnRequest()
    {
        var store = fx.Postgres;
        var user = "gc-" + Guid.NewGuid().ToString("N")[..6];
        var good = await ClaimedTaskAsync(store, user);
        var bad = await ClaimedTaskAsync(store, user);
        var result = await store.CommitManyAsync(
        [
            new CommitRequest(good.Lease, [Chunk("fine")], ExpectedNextIdx: 0),
            new CommitRequest(bad.Lease, [new NewEvent(EventTypes.TextChunk, "{not json", UnixTime.Now())], ExpectedNextIdx: 0),
        ]);
        Assert.Equal((1L, (Exception?)null), result.Outcomes[0]);
        Assert.IsType<Npgsql.PostgresException>(result.Outcomes[1].Refused);
        Assert.Equal("fine", Text(await store.ReadEventsAsync(good.Task.Id, 0, 10)));
        Assert.Empty(await store.ReadEventsAsync(bad.Task.Id, 0, 10));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ABatchThatFreesASlot_NamesTheWaitingTaskThatCanUseIt_ButNotOneWhoseUserIsAtTheLimit(string provider)
    {
        var store = fx.Get(provider);
        // Isolated from other tests' waiting tasks: a limit of 1 per user, and users of this test only.
        var full = "gc-full-" + Guid.NewGuid().ToString("N")[..6];
        var ending = await ClaimedTaskAsync(store, full);
        var other = await ClaimedTaskAsync(store, full);
        var now = UnixTime.Now();
        var waiting = new TaskRecord
        {
            Id = Guid.NewGuid().ToString(), ConversationId = "c-" + Guid.NewGuid().ToString("N")[..8], UserId = full, Status = TaskStatus.Running,
            Query = "q", Options = new TaskOptions { Message = "q" }.ToJson(), CreatedAt = now, UpdatedAt = now,
        };
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(waiting, createConversation: true));

        // The user still holds `other` after `ending` ends: at a limit of 1 its waiting task cannot run.
        var held = await store.CommitManyAsync([new CommitRequest(ending.Lease, [], new TaskTransition.Complete("{}"))], turns: 5, maxRunningPerUser: 1);
        Assert.DoesNotContain(held.Turns, t => t.UserId == full);
        // Once `other` ends too, it can.
        var freed = await store.CommitManyAsync([new CommitRequest(other.Lease, [], new TaskTransition.Fail("x"))], turns: 50, maxRunningPerUser: 1);
        Assert.Contains((waiting.Id, full), freed.Turns);
        // A step that frees no slot asks for no turn.
        var busy = await ClaimedTaskAsync(store, "gc-" + Guid.NewGuid().ToString("N")[..6]);
        Assert.Empty((await store.CommitManyAsync([new CommitRequest(busy.Lease, [Chunk("x")])], turns: 5, maxRunningPerUser: 1)).Turns);
    }
}
