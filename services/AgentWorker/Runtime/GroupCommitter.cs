using System.Threading.Channels;

namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>
/// Group commit for the whole worker: the steps its runs hand in (events, checkpoints, endings) are written together,
/// one transaction (and on PostgreSQL one round trip) per batch for all tasks at once, instead of one per task. A batch
/// is whatever arrived while the previous one was being written, so a lone commit waits for nothing, and under load
/// the transactions per second stay flat while the events per transaction grow. Each request is still fenced on its
/// own (attempt, owner, expected log end): a refused one changes nothing and the others land.
/// <para>
/// The batch that frees slots (tasks that ended or wait for a human) also reads, in its transaction, the waiting tasks
/// that can run now, and this worker sends each a turn (the fair scheduler's <c>RunTask</c>): a task that waited for a
/// slot or for its user to drop below <c>Worker:MaxRunningPerUser</c> starts without waiting for the stranded-task sweep.
/// </para>
/// </summary>
/// <remarks>
/// Hand-written rather than a library: the batching is a channel and a loop; what matters is the store's
/// <see cref="ITaskStore.CommitManyAsync"/>, which no library provides for this schema.
/// </remarks>
public sealed class GroupCommitter : IAsyncDisposable
{
    /// <summary>Requests per transaction at most (a full worker runs <c>Worker:MaxConcurrentTasks</c>, 16 by default).</summary>
    public const int MaxBatch = 256;

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>();
    private readonly ITaskStore _store;
    private readonly IServiceProvider _services;
    private readonly IOptions<WorkerOptions> _options;
    private readonly ILogger<GroupCommitter> _log;
    private readonly Task[] _writers;

    public GroupCommitter(ITaskStore store, IServiceProvider services, IOptions<WorkerOptions> options, ILogger<GroupCommitter> log)
    {
        _store = store;
        _services = services;
        _options = options;
        _log = log;
        // Two writers: one batch forms while the other is in flight. A task has at most one commit pending at a time,
        // so the two never hold the same task, and a task's commits stay in order.
        _writers = [Task.Run(WriteLoopAsync), Task.Run(WriteLoopAsync)];
    }

    /// <param name="Trace">The span of the run's commit (<c>events.commit</c>): the batch's SQL belongs under it.</param>
    private sealed record Pending(CommitRequest Request, ActivityContext Trace)
    {
        public TaskCompletionSource<long> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Commits one task's step with whatever other steps are waiting. Returns the log's next index; throws what the
    /// store would (<see cref="LeaseLostException"/>, <see cref="LogMovedException"/>, a database error). Once handed
    /// in, the step is written or refused whatever <paramref name="ct"/> does: a caller that stopped waiting could not
    /// tell which.
    /// </summary>
    public Task<long> CommitAsync(CommitRequest request, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var pending = new Pending(request, Activity.Current?.Context ?? default);
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(GroupCommitter));
        return pending.Done.Task;
    }

    private async Task WriteLoopAsync()
    {
        // Whatever span was current when this singleton was created is not this loop's: each batch names its own parent.
        Activity.Current = null;
        var batch = new List<Pending>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var p)) batch.Add(p);
            if (batch.Count == 0) continue;
            await WriteAsync(batch);
        }
    }

    private async Task WriteAsync(List<Pending> batch)
    {
        // In the trace of the first run in the batch (its events.commit span), linked to the others'.
        using var activity = AgentsTelemetry.Source.StartActivity("events.group_commit", ActivityKind.Internal, batch[0].Trace,
            links: batch.Skip(1).Where(p => p.Trace != default).Select(p => new ActivityLink(p.Trace)));
        activity?.SetTag("agents.commits", batch.Count);
        var freed = batch.Count(p => p.Request.FreesSlot);
        CommitBatchResult result;
        try
        {
            result = await _store.CommitManyAsync(batch.Select(p => p.Request).ToList(), freed, _options.Value.MaxRunningPerUser);
        }
        catch (Exception ex)
        {
            // The transaction failed as a whole (the database away, a dropped connection): each run decides what that
            // means for it (its EventLog treats the events as possibly written).
            foreach (var p in batch) p.Done.TrySetException(ex);
            return;
        }
        AgentMetrics.CommitBatchSize.Record(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var (next, refused) = result.Outcomes[i];
            if (refused is null) batch[i].Done.TrySetResult(next);
            else batch[i].Done.TrySetException(refused);
        }
        if (result.Turns.Count > 0) _ = PassTurnsAsync(result.Turns);
    }

    /// <summary>A turn for each task the batch's freed slots can take (bounded: a broker that is down holds nothing up).</summary>
    private async Task PassTurnsAsync(IReadOnlyList<(string Id, string UserId)> turns)
    {
        try
        {
            if (_services.GetService<IBus>() is not { } bus) return;
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var endpoint = await bus.GetSendEndpoint(QueueNames.AgentTasksAddress);
            foreach (var (id, userId) in turns) await endpoint.Send(new RunTask(id, userId, "turn"), bounded.Token);
        }
        catch (Exception ex)
        {
            // The stranded-task sweep sends it later.
            _log.LogWarning("could not pass {Count} turn(s) on ({Error}); the sweep will", turns.Count, ex.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_writers);
    }
}
