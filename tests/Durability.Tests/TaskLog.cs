using System.Text;
using System.Text.Json;
using Dapper;
using Npgsql;

namespace Agents.Micro.Durability.Tests;

/// <summary>One stored event, read straight from the database.</summary>
public sealed record LoggedEvent(long Idx, string Type, JsonElement Data, double Ts);

/// <summary>A task's row and log as the database holds them: what the tests assert on.</summary>
public sealed record TaskLog(string Id, string Status, long Attempt, string? LeaseOwner, long NextIdx, IReadOnlyList<LoggedEvent> Events)
{
    private static readonly string[] Terminal = ["task_completed", "task_failed", "task_cancelled"];

    public IEnumerable<string> Types => Events.Select(e => e.Type);

    public string Text(IEnumerable<LoggedEvent>? events = null) =>
        string.Concat((events ?? Events).Where(e => e.Type == "text_chunk").Select(e => e.Data.GetProperty("content").GetString()));

    public LoggedEvent? First(string type) => Events.FirstOrDefault(e => e.Type == type);

    /// <summary>Gapless from 0, exactly one terminal event and it is the last, one <c>task_started</c>, the whole count exactly once.</summary>
    public void AssertCompletedCounting(int n)
    {
        Assert.True(Status == "completed", $"task {Id} is {Status}: {string.Join(",", Types.Distinct())}");
        Assert.Equal(Enumerable.Range(0, Events.Count).Select(i => (long)i), Events.Select(e => e.Idx));
        Assert.Equal(NextIdx, Events.Count);
        Assert.Single(Events, e => Terminal.Contains(e.Type));
        Assert.Equal("task_completed", Events[^1].Type);
        Assert.Single(Events, e => e.Type == "task_started");
        Assert.Equal(string.Join(' ', Enumerable.Range(1, n)), Text());
    }

    public static async Task<TaskLog> ReadAsync(NpgsqlConnection db, string id)
    {
        var row = await db.QuerySingleAsync<(string Status, long Attempt, string? LeaseOwner, long NextIdx)>(
            "SELECT status, attempt, lease_owner, next_idx FROM tasks WHERE id = @id", new { id });
        var events = (await db.QueryAsync<(long Idx, string Type, string Data, double Ts)>(
            "SELECT idx, type, data::text, ts FROM task_events WHERE task_id = @id ORDER BY idx", new { id }))
            .Select(e => new LoggedEvent(e.Idx, e.Type, JsonElement.Parse(e.Data), e.Ts)).ToList();
        return new TaskLog(id, row.Status, row.Attempt, row.LeaseOwner, row.NextIdx, events);
    }

    public override string ToString()
    {
        var sb = new StringBuilder($"{Id} {Status} attempt {Attempt}: ");
        sb.AppendJoin(",", Events.Select(e => e.Type == "text_chunk" ? "t" : e.Type));
        return sb.ToString();
    }
}
