using Agents.Micro.ServiceDefaults.Data;
using Dapper;
using Microsoft.Extensions.Options;
using TaskStatus = Agents.Micro.Storage.Tasks.TaskStatus;

namespace Agents.Micro.TaskApi.Streaming;

/// <summary>
/// The safety net under the bus notifications: every <c>Streaming:RecheckSeconds</c>, one query reads the progress of
/// all tasks that have waiting readers (however many readers each has) and wakes those that missed an event, ended or
/// were deleted. Without waiting readers it queries nothing.
/// </summary>
public sealed class TaskEventRecheck(SqlDatabase db, TaskEventHub hub, IOptions<StreamingOptions> options, ILogger<TaskEventRecheck> log)
    : BackgroundService
{
    // Keeps each statement's parameter list well below SQLite's and PostgreSQL's limits.
    private const int ChunkSize = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.RecheckSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await RecheckAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    log.LogWarning("task event re-check failed: {Error}", ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public async Task RecheckAsync(CancellationToken ct)
    {
        var waiting = hub.Waiting();
        if (waiting.Count == 0) return;
        await using var conn = await db.OpenAsync(ct);
        foreach (var chunk in waiting.Chunk(ChunkSize))
        {
            var rows = (await conn.QueryAsync<Progress>(new CommandDefinition(
                    // Npgsql takes the array as one parameter; for SQLite Dapper expands the list into (@ids1, @ids2, …).
                    "SELECT id AS Id, next_idx AS NextIdx, status AS Status FROM tasks WHERE id " + (db.IsPostgres ? "= ANY(@ids)" : "IN @ids"),
                    new { ids = chunk.Select(w => w.TaskId).ToArray() }, cancellationToken: ct)))
                .ToDictionary(r => r.Id, StringComparer.Ordinal);
            foreach (var (taskId, waitingAt) in chunk)
            {
                if (rows.TryGetValue(taskId, out var p)) hub.Recheck(taskId, waitingAt, p.NextIdx, TaskStatus.IsTerminal(p.Status));
                else hub.Recheck(taskId, waitingAt, null, false);
            }
        }
    }

    private sealed record Progress(string Id, long NextIdx, string Status);
}
