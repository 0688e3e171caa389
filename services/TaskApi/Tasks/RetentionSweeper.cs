namespace Agents.Micro.TaskApi.Tasks;

/// <summary>
/// Prunes what <see cref="RetentionOptions"/> says to drop, in small transactions, every <c>Retention:SweepMinutes</c>.
/// Several TaskApi instances may all run it: the deletes are idempotent.
/// </summary>
public sealed class RetentionSweeper(ITaskStore store, IOptions<RetentionOptions> options, ILogger<RetentionSweeper> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(o.SweepMinutes));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var total = await PruneAllAsync(store, o, UnixTime.Now(), stoppingToken);
                if (total > 0) log.LogInformation("retention: pruned {Rows} rows", total);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                log.LogWarning("retention pass failed: {Error}", ex.Message);
            }
        }
    }

    /// <summary>Passes until nothing is left to prune; the rows deleted.</summary>
    public static async Task<long> PruneAllAsync(ITaskStore store, RetentionOptions o, double now, CancellationToken ct)
    {
        static double Before(double now, double days) => days <= 0 ? double.MinValue : now - days * 86400;
        long total = 0, pass;
        do
        {
            pass = await store.PruneAsync(Before(now, o.EventDays), Before(now, o.TaskDays),
                o.HistoryMessagesPerConversation <= 0 ? int.MaxValue : o.HistoryMessagesPerConversation, o.BatchSize, ct);
            total += pass;
        } while (pass > 0);
        return total;
    }
}
