using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.Storage.Tasks;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Streaming.Tests;

/// <summary>
/// A notification that never arrives (here: events written straight to the database, so nobody publishes one) is
/// caught by the periodic re-check, on both databases.
/// </summary>
public sealed class RecheckTests
{
    private const string Key = "recheck-test-internal-key-0123456789abcdef0";

    [Theory]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Sse_WhenTheNotificationIsLost_TheRecheckStillDeliversTheEvents(string provider)
    {
        await using var pg = provider == "postgres" ? await TestEnv.CreatePgDatabaseAsync() : null;
        var dir = Directory.CreateTempSubdirectory("agents-recheck-").FullName;
        var options = new DatabaseOptions
        {
            Provider = provider,
            ConnectionString = pg?.ConnectionString ?? $"Data Source={Path.Combine(dir, "agents.db")}",
        };
        try
        {
            await using var api = await ServiceProcess.StartAsync("TaskApi", "Agents.Micro.TaskApi", new Dictionary<string, string>
            {
                ["Database__Provider"] = options.Provider,
                ["Database__ConnectionString"] = options.ConnectionString,
                ["Messaging__Transport"] = "inmemory",
                ["Auth__InternalKey"] = Key,
                ["Dispatch__SweepIntervalSeconds"] = "3600",
                ["Streaming__RecheckSeconds"] = "1",
            });
            await api.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));
            var store = new SqlTaskStore(new SqlDatabase(options));
            var now = UnixTime.Now();
            var task = new TaskRecord { Id = Guid.NewGuid().ToString(), ConversationId = "c1", UserId = "u1", Query = "x", Options = "{}", CreatedAt = now, UpdatedAt = now };
            Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(task, createConversation: true));

            using var http = new HttpClient { BaseAddress = new Uri(api.BaseUrl) }.SignedAs(new InternalIdentity(Key), "u1");
            using var reader = await http.OpenSseReaderAsync(task.Id);
            var first = reader.NextAsync();

            // A "worker" that commits events and tells nobody.
            var claimed = await store.TryClaimAsync(task.Id, "test-worker", UnixTime.Now() + 60, UnixTime.Now());
            Assert.NotNull(claimed);
            var lease = new TaskLease(task.Id, claimed.Attempt, "test-worker");
            await store.CommitAsync(lease, [new NewEvent(EventTypes.TaskStarted, "{}", UnixTime.Now()), new NewEvent(EventTypes.TextChunk, """{"content":"hi"}""", UnixTime.Now())]);
            Assert.Equal("task_started", (await first.WaitAsync(TimeSpan.FromSeconds(10)))!.Type);
            Assert.Equal("text_chunk", (await reader.NextAsync())!.Type);

            await store.CommitAsync(lease, [new NewEvent(EventTypes.TaskCompleted, """{"result":{"text":"hi"}}""", UnixTime.Now())],
                new TaskTransition.Complete("""{"text":"hi"}"""));
            var rest = await reader.ReadToEndAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(["task_completed"], rest.Select(e => e.Event.Type));
            Assert.Equal(2, rest[0].Event.Idx);
        }
        finally
        {
            TestEnv.DeleteSqlite(dir);
        }
    }
}
