using System.Text.Json;
using Agents.Micro.AgentWorker.Runtime;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using Agents.Micro.TestSupport;
using Npgsql;
using TaskStatus = Agents.Micro.Storage.Tasks.TaskStatus;

namespace Agents.Micro.AgentWorker.Tests;

/// <summary>
/// A commit that landed but whose answer was lost (the connection dropped right after COMMIT) is not written twice
/// when the worker writes what it holds again — which is what its hand-back after a database error does.
/// </summary>
public sealed class LostCommitAnswerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ABatchWhoseCommitAnswerWasLost_IsInTheLogOnce()
    {
        await using var pg = await TestEnv.CreatePgDatabaseAsync();
        var target = new NpgsqlConnectionStringBuilder(pg.ConnectionString);
        await using var proxy = CommitReplyDropper.Start(target.Host!, target.Port);
        // Plain text through the proxy, so that it can see the COMMIT go by.
        var viaProxy = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, SslMode = SslMode.Disable }.ConnectionString;
        await using var directDb = new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = pg.ConnectionString });
        await using var proxiedDb = new SqlDatabase(new DatabaseOptions { Provider = "postgres", ConnectionString = viaProxy });
        var direct = new SqlTaskStore(directDb);
        await direct.EnsureSchemaAsync(Ct);
        var now = UnixTime.Now();
        var task = new TaskRecord
        {
            Id = Guid.NewGuid().ToString(), ConversationId = "c1", UserId = "u1", Status = TaskStatus.Running, Query = "q",
            Options = new TaskOptions { Message = "q" }.ToJson(), CreatedAt = now, UpdatedAt = now,
        };
        Assert.Equal(CreateTaskResult.Created, await direct.CreateTaskAsync(task, createConversation: true, ct: Ct));
        var claimed = await direct.TryClaimAsync(task.Id, "w1", now + 60, now, Ct);
        var log = new EventLog(new SqlTaskStore(proxiedDb), new TaskLease(task.Id, claimed!.Attempt, "w1"), 25) { NextIndex = claimed.NextIdx };

        log.Add(EventTypes.TextChunk, new { content = "one " });
        log.Add(EventTypes.TextChunk, new { content = "two " });
        proxy.ArmOnce();
        var lost = await Record.ExceptionAsync(() => log.CommitAsync(ct: Ct)); // committed, but the answer never came
        Assert.True(lost is not null, "the commit's answer was not dropped: " + proxy.Stats);
        Assert.Equal(1, proxy.Dropped);
        Assert.True(2 == (await direct.GetTaskAsync(task.Id, Ct))!.NextIdx, proxy.Stats); // it did land

        // Writing what it holds again (the runner's hand-back), plus what came since:
        log.Add(EventTypes.TextChunk, new { content = "three" });
        await log.CommitAsync(ct: Ct);

        var events = await direct.ReadEventsAsync(task.Id, 0, 100, Ct);
        Assert.Equal([0L, 1L, 2L], events.Select(e => e.Idx));
        Assert.Equal("one two three", string.Concat(events.Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("content").GetString())));
        Assert.Equal(3, log.NextIndex);
    }
}
