using Agents.Micro.ServiceDefaults.Data;
using Dapper;

namespace Agents.Micro.Storage.Usage;

/// <summary>One model call's tokens, written with the step that made it (<see cref="Tasks.CommitRequest.Usage"/>).</summary>
public sealed record ModelUsage(string Model, int InputTokens, int OutputTokens, int ReasoningTokens, double At);

/// <summary>Sums of model calls: tokens in, out and of reasoning (part of out, where the provider says), calls, tasks.</summary>
public sealed record UsageTotals(long InputTokens, long OutputTokens, long ReasoningTokens, long ModelCalls, long Tasks)
{
    public long TotalTokens => InputTokens + OutputTokens;
}

public sealed record UsageReport(UsageTotals Totals, IReadOnlyList<(string Model, UsageTotals Totals)> ByModel,
    IReadOnlyList<(string Day, UsageTotals Totals)> ByDay, IReadOnlyList<(string ConversationId, UsageTotals Totals)> ByConversation);

/// <summary>
/// Every model call's tokens (table <c>model_usage</c>, one row a call, written in the commit of the step that made it),
/// summed per user, model, day, conversation and task. The budgets read <see cref="TokensSinceAsync"/>.
/// </summary>
public sealed class UsageStore(SqlDatabase db)
{
    public static IEnumerable<string> Schema() =>
    [
        """
        CREATE TABLE IF NOT EXISTS model_usage (
            task_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            model TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL,
            input_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            reasoning_tokens BIGINT NOT NULL)
        """,
        "CREATE INDEX IF NOT EXISTS ix_model_usage_user_at ON model_usage(user_id, at)",
        "CREATE INDEX IF NOT EXISTS ix_model_usage_task ON model_usage(task_id)",
    ];

    /// <summary>Tokens (in + out) the user's model calls used from <paramref name="since"/> on: what a budget counts.</summary>
    public async Task<long> TokensSinceAsync(string userId, double since, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COALESCE(SUM(input_tokens + output_tokens), 0) FROM model_usage WHERE user_id = @userId AND at >= @since",
            new { userId, since }, cancellationToken: ct));
    }

    /// <summary>The user's usage in [<paramref name="from"/>, <paramref name="to"/>): totals, and by model, UTC day and conversation.</summary>
    public async Task<UsageReport> ReportAsync(string userId, double from, double to, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        var day = db.IsPostgres
            ? "to_char(to_timestamp(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
            : "strftime('%Y-%m-%d', at, 'unixepoch')";
        async Task<List<(string, UsageTotals)>> By(string key) => (await conn.QueryAsync<Row>(new CommandDefinition(
                $"SELECT {key} AS K, {Sums} FROM model_usage WHERE user_id = @userId AND at >= @from AND at < @to GROUP BY {key} ORDER BY {key}",
                new { userId, from, to }, cancellationToken: ct)))
            .Select(r => (r.K, r.Totals)).ToList();
        var total = await conn.QuerySingleAsync<Row>(new CommandDefinition(
            $"SELECT '' AS K, {Sums} FROM model_usage WHERE user_id = @userId AND at >= @from AND at < @to", new { userId, from, to }, cancellationToken: ct));
        return new UsageReport(total.Totals, await By("model"), await By(day), await By("conversation_id"));
    }

    /// <summary>One task's usage (for its owner; the caller checks who may see it).</summary>
    public async Task<UsageTotals> TaskAsync(string taskId, CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QuerySingleAsync<Row>(new CommandDefinition(
            $"SELECT '' AS K, {Sums} FROM model_usage WHERE task_id = @taskId",
            new { taskId }, cancellationToken: ct))).Totals;
    }

    /// <summary>The columns of <see cref="Row"/>: what every report sums.</summary>
    private const string Sums = "COALESCE(SUM(input_tokens), 0) AS InputTokens, COALESCE(SUM(output_tokens), 0) AS OutputTokens, " +
                                "COALESCE(SUM(reasoning_tokens), 0) AS ReasoningTokens, COUNT(*) AS ModelCalls, COUNT(DISTINCT task_id) AS Tasks";

    private sealed class Row
    {
        public string K { get; set; } = "";
        public long InputTokens { get; set; }
        public long OutputTokens { get; set; }
        public long ReasoningTokens { get; set; }
        public long ModelCalls { get; set; }
        public long Tasks { get; set; }
        public UsageTotals Totals => new(InputTokens, OutputTokens, ReasoningTokens, ModelCalls, Tasks);
    }
}
