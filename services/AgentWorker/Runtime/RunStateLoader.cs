namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>
/// What a run starts from besides its checkpoint: a first run's prompt (memories recalled from MemoryService, the
/// conversation's history) and, after a crash mid-stream, what the dead attempt had already streamed.
/// </summary>
public sealed class RunStateLoader(ITaskStore store, IRequestClient<RecallMemories> recall, IOptions<WorkerOptions> options, ILogger<RunStateLoader> log)
{
    /// <summary>
    /// The chunks the dead attempt streamed after its last checkpoint (a model call it did not finish): kept in the state
    /// so that the repeated call continues the client's stream where it stopped instead of starting it over.
    /// </summary>
    public async Task CollectUnfinishedStreamAsync(TaskRecord task, AgentState state, CancellationToken ct)
    {
        if (state.LogIndex is not { } from || from >= task.NextIdx) return;
        var text = new System.Text.StringBuilder(state.PartialText);
        var thinking = new System.Text.StringBuilder(state.PartialThinking);
        while (from < task.NextIdx)
        {
            var page = await store.ReadEventsAsync(task.Id, from, 1000, ct);
            if (page.Count == 0) break;
            foreach (var e in page.Where(e => e.Idx < task.NextIdx))
            {
                if (e.Type is not (EventTypes.TextChunk or EventTypes.ThinkingChunk)) continue;
                var content = System.Text.Json.JsonDocument.Parse(e.Data).RootElement.TryGetProperty("content", out var c) ? c.GetString() : null;
                (e.Type == EventTypes.TextChunk ? text : thinking).Append(content);
            }
            from = page[^1].Idx + 1;
        }
        state.PartialText = text.Length > 0 ? text.ToString() : null;
        state.PartialThinking = thinking.Length > 0 ? thinking.ToString() : null;
    }

    /// <summary>
    /// A first run's state: the system prompt (with the memories recalled for the message, and a note of the tool
    /// servers that are down), the conversation's earlier turns, and the new message.
    /// </summary>
    public async Task<AgentState> NewStateAsync(TaskRecord task, TaskOptions taskOptions, RunSettings settings, IReadOnlyList<HistoryMessage> history,
        string? unavailableTools, CancellationToken ct)
    {
        var o = options.Value;
        var system = taskOptions.SystemMessage ?? TaskOptions.DefaultSystemMessage;
        var memories = await RecallAsync(task, Math.Min(o.RecallLimit, settings.RecallLimit), ct);
        if (memories.Count > 0) system += "\n\nRelevant memories about the user:\n" + string.Join("\n", memories.Select(m => "- " + m));
        if (unavailableTools is { } down) system += "\n\n" + down;
        var state = new AgentState();
        state.Messages.Add(new ChatMessage { Role = ChatMessage.System, Content = system });
        if (history.Count > 0)
        {
            // Earlier turns' images stay as a note: this turn's model may not take images, and the files may be gone.
            var msgs = history.Select(h => System.Text.Json.JsonSerializer.Deserialize<ChatMessage>(h.Content, EventLog.Json)!)
                .Select(m => m.Images is { Count: > 0 } imgs
                    ? m with { Images = null, Content = $"{m.Content}\n[attached images: {string.Join(", ", imgs)}]".TrimStart('\n') }
                    : m)
                .ToList();
            // A cut-off window must not start in the middle of a tool exchange.
            var start = msgs.FindIndex(m => m.Role == ChatMessage.User);
            if (start >= 0) state.Messages.AddRange(msgs.Skip(start));
        }
        state.OwnFrom = state.Messages.Count;
        if (taskOptions.IfBusy == IfBusy.Interrupt && taskOptions.Supersedes is { } stopped)
            await AddStoppedTurnAsync(state, task, stopped, ct);
        state.Messages.Add(new ChatMessage { Role = ChatMessage.User, Content = taskOptions.Message ?? "", Images = taskOptions.Images.Count > 0 ? taskOptions.Images : null });
        return state;
    }

    /// <summary>
    /// if_busy=interrupt: the task this one stopped keeps what it wrote. Its turn (the message and the answer it had
    /// streamed) was not added to the history, as a stopped task's is not, so it goes into this task's own turn, and
    /// with it into the history once this task ends. A stopped task that finished first is in the history already.
    /// </summary>
    private async Task AddStoppedTurnAsync(AgentState state, TaskRecord task, string stoppedId, CancellationToken ct)
    {
        var stopped = await store.GetTaskAsync(stoppedId, ct);
        if (stopped is null || stopped.Status != Agents.Micro.Storage.Tasks.TaskStatus.Cancelled) return;
        // Several interrupts sent while the task ran all name it: the first of them that runs (or ran) carries its turn.
        var siblings = await store.ListTasksAsync(task.UserId, task.ConversationId, ct);
        if (siblings.Any(s => s.Id != task.Id && s.QueueSeq < task.QueueSeq
                && s.Status is not (Agents.Micro.Storage.Tasks.TaskStatus.Cancelled or Agents.Micro.Storage.Tasks.TaskStatus.Error)
                && TaskOptions.FromJson(s.Options) is { IfBusy: IfBusy.Interrupt } o && o.Supersedes == stoppedId))
            return;
        var text = new System.Text.StringBuilder();
        for (long from = 0; ;)
        {
            var events = await store.ReadEventsAsync(stoppedId, from, 1000, ct);
            foreach (var e in events.Where(e => e.Type == EventTypes.TextChunk))
                text.Append(System.Text.Json.JsonDocument.Parse(e.Data).RootElement.GetProperty("content").GetString());
            if (events.Count < 1000) break;
            from = events[^1].Idx + 1;
        }
        state.Messages.Add(new ChatMessage { Role = ChatMessage.User, Content = stopped.Query });
        state.Messages.Add(new ChatMessage
        {
            Role = ChatMessage.Assistant,
            Content = (text.Length > 0 ? text + "\n\n" : "") + "[stopped here: the user sent the next message]",
        });
    }

    private async Task<IReadOnlyList<string>> RecallAsync(TaskRecord task, int limit, CancellationToken ct)
    {
        if (limit <= 0 || string.IsNullOrWhiteSpace(task.Query)) return [];
        try
        {
            // MassTransit's RequestTimeout bounds the wait for the answer; a send that waits for the broker to come back
            // (a restart, a partition) is bounded here too, so a task never hangs on its recall. WaitAsync: a send
            // blocked on a reconnecting broker does not always observe its token (a compose outage test once saw a run
            // wait past its lease-renewed life), so the run stops waiting whatever the send does.
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bounded.CancelAfter(TimeSpan.FromMilliseconds(2L * options.Value.RecallTimeoutMs + 1000));
            var r = await recall.GetResponse<MemoriesRecalled>(new RecallMemories(task.UserId, task.Query, limit), bounded.Token,
                RequestTimeout.After(ms: options.Value.RecallTimeoutMs)).WaitAsync(bounded.Token);
            return r.Message.Items.Select(i => i.Content).ToList();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            log.LogWarning("memory recall for task {TaskId} unavailable ({Error}); running without memories", task.Id, ex.Message);
            return [];
        }
    }
}
