using Agents.Micro.AgentWorker.Tools;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Usage;

namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>How a run of the loop ended.</summary>
public enum LoopOutcome { Completed, Interrupted }

/// <summary>
/// The ReAct loop: model call (streamed, tools offered) → run the tool calls → repeat, until the model answers without
/// tools or the iteration budget is spent. Every step is committed with its events and a checkpoint, so the loop can
/// stop anywhere (interrupt, crash, shutdown) and continue on any worker.
/// </summary>
public sealed class AgentLoop(IChatModel model, ToolRegistry tools, EventLog log, AgentState state, RunSettings settings,
    ToolContext context, Func<string, CancellationToken, Task<BinaryData?>>? loadImage, UsageBudget? budget = null)
{
    public async Task<LoopOutcome> RunAsync(ResumeDecision? decision, CancellationToken ct)
    {
        if (state.Pending is { } pending)
        {
            if (decision is null || decision.InterruptId != pending.InterruptId)
                throw new InvalidOperationException($"task is waiting for a decision on interrupt {pending.InterruptId}");
            await ApplyDecisionAsync(pending, decision, ct);
        }

        while (true)
        {
            while (state.QueuedCalls.Count > 0)
            {
                var call = state.QueuedCalls[0];
                if (tools.NeedsApproval(call.Name))
                {
                    await InterruptAsync(call, ct);
                    return LoopOutcome.Interrupted;
                }
                await RunToolAsync(call, call.Arguments, ct);
            }

            if (state.Iteration >= settings.MaxIterations)
            {
                var text = $"Stopped after reaching the limit of {settings.MaxIterations} iterations without a final answer.";
                await CompleteAsync(text, stoppedAtLimit: true, ct);
                return LoopOutcome.Completed;
            }

            await CheckBudgetAsync(crossing: false, ct);
            var (answer, reasoning, calls) = await CallModelAsync(ct);
            state.Iteration++;
            await CheckBudgetAsync(crossing: true, ct);
            if (calls.Count == 0)
            {
                state.Messages.Add(new ChatMessage { Role = ChatMessage.Assistant, Content = answer });
                await CompleteAsync(answer, stoppedAtLimit: false, ct);
                return LoopOutcome.Completed;
            }
            state.Messages.Add(new ChatMessage
            {
                Role = ChatMessage.Assistant, Content = string.IsNullOrEmpty(answer) ? null : answer, ToolCalls = calls,
                Reasoning = reasoning.Length > 0 ? reasoning : null,
            });
            state.QueuedCalls = [.. calls];
            state.Step++;
            await log.CommitAsync(checkpoint: state, ct: ct);
        }
    }

    /// <summary>
    /// The user's token budget (<c>Budgets:*</c>): none left before a model call, or gone past with the one just made
    /// (its tokens counted although not yet written), ends the task with <c>task_failed</c> saying which and when it resets.
    /// </summary>
    private async Task CheckBudgetAsync(bool crossing, CancellationToken ct)
    {
        if (budget is null || !budget.For(context.UserId).LimitsTokens) return;
        if (await budget.CheckAsync(context.UserId, log.PendingUsageTokens, crossing, ct) is { } over)
            throw new TaskLimitExceededException(over.Message);
    }

    private async Task<(string Answer, string Reasoning, List<ToolCall> Calls)> CallModelAsync(CancellationToken ct)
    {
        using var activity = AgentsTelemetry.Source.StartActivity("model " + model.Name);
        activity?.SetTag("gen_ai.request.model", model.Name);
        activity?.SetTag("agents.task_id", context.TaskId);
        activity?.SetTag("agents.iteration", state.Iteration + 1);
        activity?.SetTag("agents.run_mode", settings.Mode);
        activity?.SetTag("gen_ai.operation.name", "chat");
        // Prompts may hold personal data: only with Telemetry:RecordContent.
        if (AgentsTelemetry.RecordContent && state.Messages.LastOrDefault() is { } last)
            activity?.SetTag("agents.input", Clip(last.Content));
        var sw = Stopwatch.StartNew();
        var streamed = state.PartialText is null && state.PartialThinking is null ? null : new StreamedSoFar(state.PartialText ?? "", state.PartialThinking ?? "");
        var request = new ModelRequest(state.Messages, tools.Specs, settings.Thinking, settings.Temperature, settings.ReasoningEffort, loadImage, streamed);
        var text = new System.Text.StringBuilder();
        var reasoning = new System.Text.StringBuilder();
        var calls = new List<ToolCall>();
        var skipText = new StreamSkip(streamed?.Text);
        var skipThinking = new StreamSkip(streamed?.Thinking);
        await foreach (var update in model.StreamAsync(request, ct))
        {
            switch (update)
            {
                case ModelUpdate.Text t when t.Delta.Length > 0:
                    text.Append(t.Delta);
                    if (skipText.Rest(t.Delta) is { Length: > 0 } newText) log.Add(EventTypes.TextChunk, new { content = newText });
                    break;
                case ModelUpdate.Thinking th when th.Delta.Length > 0:
                    reasoning.Append(th.Delta);
                    if (skipThinking.Rest(th.Delta) is { Length: > 0 } newThinking) log.Add(EventTypes.ThinkingChunk, new { content = newThinking });
                    break;
                case ModelUpdate.ToolCalls tc:
                    calls.AddRange(tc.Calls);
                    break;
                case ModelUpdate.Usage u:
                    state.InputTokens += u.InputTokens;
                    state.OutputTokens += u.OutputTokens;
                    activity?.SetTag("gen_ai.usage.input_tokens", u.InputTokens);
                    activity?.SetTag("gen_ai.usage.output_tokens", u.OutputTokens);
                    AgentMetrics.ModelTokens.Add(u.InputTokens, new KeyValuePair<string, object?>("direction", "input"), new("model", model.Name));
                    AgentMetrics.ModelTokens.Add(u.OutputTokens, new KeyValuePair<string, object?>("direction", "output"), new("model", model.Name));
                    if (u.ReasoningTokens > 0)
                    {
                        activity?.SetTag("gen_ai.usage.reasoning_tokens", u.ReasoningTokens);
                        AgentMetrics.ModelTokens.Add(u.ReasoningTokens, new KeyValuePair<string, object?>("direction", "reasoning"), new("model", model.Name));
                    }
                    log.AddUsage(new ModelUsage(model.Name, u.InputTokens, u.OutputTokens, u.ReasoningTokens, UnixTime.Now()));
                    break;
            }
            await log.FlushIfDueAsync(ct);
        }
        state.PartialText = null;
        state.PartialThinking = null;
        AgentMetrics.ModelLatency.Record(sw.Elapsed.TotalSeconds, new KeyValuePair<string, object?>("model", model.Name));
        activity?.SetTag("agents.tool_calls", calls.Count);
        if (AgentsTelemetry.RecordContent) activity?.SetTag("agents.output", Clip(text.ToString()));
        return (text.ToString(), reasoning.ToString(), calls);
    }

    private static string? Clip(string? s) => s is null || s.Length <= 4096 ? s : s[..4096] + "…";

    private async Task RunToolAsync(ToolCall call, string arguments, CancellationToken ct, bool approved = false)
    {
        log.Add(EventTypes.ToolStart, new { call_id = call.Id, name = call.Name, arguments = ParseArgs(arguments) });
        // Written now, not with tool_end: a client should see which tool is running while it runs (it may take minutes).
        await log.CommitAsync(ct: ct);
        var sw = Stopwatch.StartNew();
        var result = await tools.RunAsync(context, call with { Arguments = arguments }, ct, approved);
        AgentMetrics.ToolLatency.Record(sw.Elapsed.TotalSeconds, new KeyValuePair<string, object?>("tool", call.Name), new("ok", result.Ok));
        if (result.FileWritten is { } f && !state.FilesWritten.Contains(f)) state.FilesWritten.Add(f);
        FinishCall(call, result.Ok, result.Content, sw.ElapsedMilliseconds);
        await log.CommitAsync(checkpoint: state, ct: ct);
    }

    private void FinishCall(ToolCall call, bool ok, string content, long durationMs)
    {
        log.Add(EventTypes.ToolEnd, new { call_id = call.Id, name = call.Name, ok, result = content, duration_ms = durationMs });
        state.Messages.Add(new ChatMessage { Role = ChatMessage.Tool, ToolCallId = call.Id, Name = call.Name, Content = content });
        state.QueuedCalls.RemoveAt(0);
        state.Step++;
    }

    private async Task InterruptAsync(ToolCall call, CancellationToken ct)
    {
        var id = "int_" + Guid.NewGuid().ToString("N")[..16];
        state.Pending = new PendingInterrupt(id, call);
        var args = ParseArgs(call.Arguments);
        var description = $"The agent wants to call {call.Name}. Approve, edit the arguments, reject, or answer in its place.";
        // Shaped so LangGraph-style clients recognise it: an action request, its config of allowed decisions, a description.
        var data = new Dictionary<string, object?>
        {
            ["interrupt_id"] = id,
            ["call_id"] = call.Id,
            ["name"] = call.Name,
            ["arguments"] = args,
            ["allowed"] = ResumeDecision.All,
            ["description"] = description,
            ["action_request"] = new Dictionary<string, object?> { ["action"] = call.Name, ["args"] = args },
            ["config"] = new Dictionary<string, bool> { ["allow_accept"] = true, ["allow_edit"] = true, ["allow_respond"] = true, ["allow_ignore"] = true },
        };
        log.Add(EventTypes.Interrupt, data);
        state.Step++;
        await log.CommitAsync(new TaskTransition.Interrupt(id, JsonSerializer.Serialize(data, EventLog.Json)), state, ct: ct);
    }

    private async Task ApplyDecisionAsync(PendingInterrupt pending, ResumeDecision decision, CancellationToken ct)
    {
        state.Pending = null;
        var call = pending.Call;
        switch (decision.Type)
        {
            case ResumeDecision.Accept:
                await RunToolAsync(call, call.Arguments, ct, approved: true);
                break;
            case ResumeDecision.Edit:
                var edited = decision.EditedArgs?.ToJsonString() ?? call.Arguments;
                state.QueuedCalls[0] = call with { Arguments = edited };
                await RunToolAsync(state.QueuedCalls[0], edited, ct, approved: true);
                break;
            case ResumeDecision.Reject:
                FinishCall(call, false, "REJECTED: " + (decision.Message ?? "the user refused this tool call"), 0);
                await log.CommitAsync(checkpoint: state, ct: ct);
                break;
            default:
                FinishCall(call, true, decision.Message ?? "", 0);
                await log.CommitAsync(checkpoint: state, ct: ct);
                break;
        }
    }

    private async Task CompleteAsync(string text, bool stoppedAtLimit, CancellationToken ct)
    {
        var result = new Dictionary<string, object?>
        {
            ["text"] = text,
            ["files"] = state.FilesWritten,
            ["usage"] = new { input_tokens = state.InputTokens, output_tokens = state.OutputTokens },
            ["iterations"] = state.Iteration,
            ["stopped_at_limit"] = stoppedAtLimit,
        };
        log.Add(EventTypes.TaskCompleted, new { result });
        state.Step++;
        var history = state.Messages.Skip(state.OwnFrom)
            .Select(m => new HistoryMessage { Role = m.Role, Content = JsonSerializer.Serialize(m, EventLog.Json) }).ToList();
        await log.CommitAsync(new TaskTransition.Complete(JsonSerializer.Serialize(result, EventLog.Json)), state, history, ct);
    }

    private static JsonElement ParseArgs(string arguments)
    {
        try { return JsonDocument.Parse(string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments).RootElement.Clone(); }
        catch (JsonException) { return JsonSerializer.SerializeToElement(new { raw = arguments }); }
    }
}
