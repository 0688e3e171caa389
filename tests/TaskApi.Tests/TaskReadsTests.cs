using System.Reflection;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using Agents.Micro.TaskApi.Tasks;
using TaskStatus = Agents.Micro.Storage.Tasks.TaskStatus;

namespace Agents.Micro.TaskApi.Tests;

/// <summary>A poll never shows <c>task_completed</c> in the events while saying <c>running</c> in the status.</summary>
public sealed class TaskReadsTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("agents-reads-").FullName;
    private SqlTaskStore _store = null!;

    public async ValueTask InitializeAsync()
    {
        _store = new SqlTaskStore(new SqlDatabase(new DatabaseOptions { Provider = "sqlite", ConnectionString = $"Data Source={Path.Combine(_dir, "t.db")}" }));
        await _store.EnsureSchemaAsync();
    }

    public ValueTask DisposeAsync()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task AWorkerCommitBetweenTheTwoReads_StillGivesAConsistentStatusAndLog()
    {
        var now = UnixTime.Now();
        var task = new TaskRecord
        {
            Id = Guid.NewGuid().ToString(), ConversationId = "c1", UserId = "u", Status = TaskStatus.Running,
            Query = "q", Options = new TaskOptions { Message = "q" }.ToJson(), CreatedAt = now, UpdatedAt = now,
        };
        await _store.CreateTaskAsync(task, createConversation: true);
        var claimed = await _store.TryClaimAsync(task.Id, "w1", now + 30, now);
        var lease = new TaskLease(task.Id, claimed!.Attempt, "w1");
        await _store.CommitAsync(lease, [new NewEvent("task_started", "{}", now)]);

        // The worker's final commit lands exactly after the task row was read and before the events are.
        var racing = CommitBeforeFirstEventRead.Wrap(_store, () => _store.CommitAsync(lease,
            [new NewEvent("task_completed", """{"result":{"text":"done"}}""", UnixTime.Now())], new TaskTransition.Complete("""{"text":"done"}""")));

        var (read, events) = await racing.ReadWithEventsAsync(task.UserId, task.Id, 0, 100, TestContext.Current.CancellationToken);
        Assert.Equal("task_completed", events[^1].Type);
        Assert.Equal(TaskStatus.Completed, read!.Status);
    }

    /// <summary>Passes every call through to the store, running a commit just before the first ReadEventsAsync.</summary>
    public class CommitBeforeFirstEventRead : DispatchProxy
    {
        private ITaskStore _inner = null!;
        private Func<Task>? _commit;

        public static ITaskStore Wrap(ITaskStore inner, Func<Task> commit)
        {
            var proxy = Create<ITaskStore, CommitBeforeFirstEventRead>();
            var self = (CommitBeforeFirstEventRead)(object)proxy;
            self._inner = inner;
            self._commit = commit;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (method!.Name == nameof(ITaskStore.ReadEventsAsync) && Interlocked.Exchange(ref _commit, null) is { } commit)
                commit().GetAwaiter().GetResult();
            return method.Invoke(_inner, args);
        }
    }
}
