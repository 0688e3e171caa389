using Agents.Micro.ServiceDefaults.Data;
using Dapper;

namespace Agents.Micro.TaskApi.Tasks;

/// <summary>Counts a user's queued and running tasks for the per-user cap: one indexed query per submission.</summary>
public sealed class ActiveTaskCounter(SqlDatabase db)
{
    // The redundant IN term is deliberate: it is the exact predicate of the partial index ux_tasks_active_per_conversation
    // (user_id, conversation_id) WHERE status IN ('running', 'interrupted'), which lets SQLite (whose planner matches
    // partial-index predicates textually) and PostgreSQL both answer from that index instead of scanning the user's tasks.
    private const string Sql =
        "SELECT COUNT(*) FROM tasks WHERE user_id = @u AND status IN ('running', 'interrupted') AND status = 'running'";

    public async Task<long> CountRunningAsync(string userId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<long>(new CommandDefinition(Sql, new { u = userId }, cancellationToken: ct));
    }
}
