using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using Npgsql;
using TaskStatus = Agents.Micro.Storage.Tasks.TaskStatus;

namespace Agents.Micro.Storage.Tests;

/// <summary>if_busy in the store: a conversation's queue starts in order from the transaction that ends its task.</summary>
public sealed class DoubleTextingStoreTests(StoreFixture fx) : IClassFixture<StoreFixture>
{
    public static TheoryData<string> Providers => ["postgres", "sqlite"];

    private static TaskRecord NewTask(string user, string conversation, string message, string? ifBusy = null)
    {
        var now = UnixTime.Now();
        return new TaskRecord
        {
            Id = Guid.NewGuid().ToString(), ConversationId = conversation, UserId = user, Status = TaskStatus.Running, Query = message,
            Options = new TaskOptions { Message = message, IfBusy = ifBusy }.ToJson(), CreatedAt = now, UpdatedAt = now, DispatchedAt = now,
        };
    }

    private static async Task<TaskLease> ClaimAsync(ITaskStore store, string id)
    {
        var now = UnixTime.Now();
        var claimed = await store.TryClaimAsync(id, "w1", now + 30, now);
        Assert.NotNull(claimed);
        return new TaskLease(id, claimed.Attempt, "w1");
    }

    private static async Task<string> StatusAsync(ITaskStore store, string id) => (await store.GetTaskAsync(id))!.Status;

    /// <summary>A conversation whose task a worker holds, and a message sent to it with <paramref name="ifBusy"/>.</summary>
    private static async Task<(TaskRecord Busy, TaskLease Lease, TaskRecord Sent)> BusyConversationAsync(ITaskStore store, string user, string ifBusy)
    {
        var busy = NewTask(user, "c1", "a");
        await store.CreateTaskAsync(busy, createConversation: true);
        var lease = await ClaimAsync(store, busy.Id);
        var sent = NewTask(user, "c1", "b", ifBusy);
        await store.CreateTaskAsync(sent, createConversation: true, ifBusy: ifBusy);
        Assert.Equal(TaskStatus.Queued, sent.Status);
        return (busy, lease, sent);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task QueuedMessages_StartOneAtATime_InArrivalOrder_AsEachTaskEnds(string provider)
    {
        var store = fx.Get(provider);
        var user = "dq-" + Guid.NewGuid().ToString("N")[..6];
        var a = NewTask(user, "c1", "a");
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(a, createConversation: true));
        var b = NewTask(user, "c1", "b", IfBusy.Enqueue);
        var c = NewTask(user, "c1", "c", IfBusy.Enqueue);
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(b, createConversation: true, ifBusy: IfBusy.Enqueue));
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(c, createConversation: true, ifBusy: IfBusy.Enqueue));
        Assert.Equal((TaskStatus.Queued, TaskStatus.Queued), (b.Status, c.Status));
        Assert.Equal(3, await store.CountActiveAsync(user));
        Assert.Equal(CreateTaskResult.ConversationBusy, await store.CreateTaskAsync(NewTask(user, "c1", "d"), createConversation: true));

        await store.CommitAsync(await ClaimAsync(store, a.Id), [new NewEvent(EventTypes.TaskCompleted, "{}", UnixTime.Now())], new TaskTransition.Complete("{}"));
        Assert.Equal((TaskStatus.Running, TaskStatus.Queued), (await StatusAsync(store, b.Id), await StatusAsync(store, c.Id)));
        Assert.Null((await store.GetTaskAsync(b.Id))!.DispatchedAt); // the sweep (or a worker's turn) sends it
        await store.CommitAsync(await ClaimAsync(store, b.Id), [new NewEvent(EventTypes.TaskFailed, "{}", UnixTime.Now())], new TaskTransition.Fail("x"));
        Assert.Equal(TaskStatus.Running, await StatusAsync(store, c.Id));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Rollback_TakesTheStoppedTasksTurnOutOfTheHistory_WhenItsReplacementStarts(string provider)
    {
        var store = fx.Get(provider);
        var user = "dr-" + Guid.NewGuid().ToString("N")[..6];
        var (a, lease, b) = await BusyConversationAsync(store, user, IfBusy.Rollback);
        Assert.True((await store.GetTaskAsync(a.Id))!.CancelRequested); // its worker is told to stop
        Assert.Equal(a.Id, TaskOptions.FromJson((await store.GetTaskAsync(b.Id))!.Options).Supersedes);

        // The stopped task finished its turn before it saw the flag: its history is written, then taken out.
        await store.CommitAsync(lease, [new NewEvent(EventTypes.TaskCompleted, "{}", UnixTime.Now())], new TaskTransition.Complete("{}"),
            history: [new HistoryMessage { Role = "user", Content = """{"role":"user","content":"a"}""" }]);
        Assert.Equal(TaskStatus.Running, await StatusAsync(store, b.Id));
        Assert.Empty(await store.LoadHistoryAsync(user, "c1", 100));
    }

    [Fact]
    public async Task OnPostgres_ASendThatWaitedForTheEndingTransaction_SeesTheConversationFree_AndRunsAtOnce()
    {
        var store = fx.Postgres;
        var user = "dp-" + Guid.NewGuid().ToString("N")[..6];
        var a = NewTask(user, "c1", "a");
        await store.CreateTaskAsync(a, createConversation: true);

        // A task's end in progress: its row is updated and locked, its transaction not yet committed.
        await using var ending = new NpgsqlConnection(fx.PostgresConnectionString);
        await ending.OpenAsync();
        await using var tx = await ending.BeginTransactionAsync();
        await using (var end = new NpgsqlCommand("UPDATE tasks SET status = 'completed', finished_at = 1 WHERE id = @id", ending, tx))
        {
            end.Parameters.AddWithValue("id", a.Id);
            await end.ExecuteNonQueryAsync();
        }
        var b = NewTask(user, "c1", "b", IfBusy.Enqueue);
        var send = store.CreateTaskAsync(b, createConversation: true, ifBusy: IfBusy.Enqueue);
        await WaitUntilBlockedAsync(fx.PostgresConnectionString);
        Assert.False(send.IsCompleted);
        await tx.CommitAsync();

        Assert.Equal(CreateTaskResult.Created, await send);
        Assert.Equal(TaskStatus.Running, b.Status);
        Assert.Equal(TaskStatus.Running, await StatusAsync(store, b.Id));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ATaskAskedToStop_CannotStartWaitingForApproval_AndAQueueLeftWithoutItsTaskStarts(string provider)
    {
        var store = fx.Get(provider);
        var user = "ds-" + Guid.NewGuid().ToString("N")[..6];
        var (a, lease, _) = await BusyConversationAsync(store, user, IfBusy.Interrupt);

        // The worker reaches an approval step before it sees the flag: the interrupt is refused, nothing written.
        await Assert.ThrowsAsync<LeaseLostException>(() => store.CommitAsync(lease,
            [new NewEvent(EventTypes.Interrupt, "{}", UnixTime.Now())], new TaskTransition.Interrupt("i1", "{}")));
        var held = (await store.GetTaskAsync(a.Id))!;
        Assert.Equal((TaskStatus.Running, 0L), (held.Status, held.NextIdx));

        // Ending or deleting a conversation's task starts its queue.
        var c = NewTask(user, "c2", "c");
        await store.CreateTaskAsync(c, createConversation: true);
        var d = NewTask(user, "c2", "d", IfBusy.Enqueue);
        await store.CreateTaskAsync(d, createConversation: true, ifBusy: IfBusy.Enqueue);
        await store.AdminEndAsync(c.Id, "{}", "ended", UnixTime.Now()); // promotes d
        Assert.Equal(TaskStatus.Running, await StatusAsync(store, d.Id));
        var e = NewTask(user, "c2", "e", IfBusy.Enqueue);
        await store.CreateTaskAsync(e, createConversation: true, ifBusy: IfBusy.Enqueue);
        Assert.Equal(TaskStatus.Queued, e.Status);
        Assert.True(await store.DeleteTaskAsync(user, d.Id)); // deleting the conversation's task starts the next one too
        Assert.Equal(TaskStatus.Running, await StatusAsync(store, e.Id));

        // A queue whose conversation was left without a task (its task ended behind the store's back) is started by the sweep.
        var f = NewTask(user, "c2", "f", IfBusy.Enqueue);
        await store.CreateTaskAsync(f, createConversation: true, ifBusy: IfBusy.Enqueue);
        await fx.ExecuteAsync(provider, "UPDATE tasks SET status = 'completed', finished_at = 1 WHERE id = @id", new { id = e.Id });
        Assert.Equal(TaskStatus.Queued, await StatusAsync(store, f.Id));
        Assert.True(await store.StartOrphanedQueuesAsync(UnixTime.Now()) >= 1);
        Assert.Equal(TaskStatus.Running, await StatusAsync(store, f.Id));
    }

    /// <summary>
    /// Until the send waits for a lock (the ending task's row). Watched from a connection of its own: inside a
    /// transaction, PostgreSQL answers every read of pg_stat_activity from the snapshot of the first.
    /// </summary>
    private static async Task WaitUntilBlockedAsync(string connectionString)
    {
        await using var observer = new NpgsqlConnection(connectionString);
        await observer.OpenAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            await using var q = new NpgsqlCommand(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND query LIKE '%FOR UPDATE%'", observer);
            if ((long)(await q.ExecuteScalarAsync())! > 0) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the send never waited for the ending task's row");
            await Task.Delay(20);
        }
    }
}
