using Agents.Micro.AgentWorker.Tools.Mcp;

namespace Agents.Micro.AgentWorker.Tools;

/// <summary>
/// The tools offered to the model (the built-in ones and those of the MCP servers), and the one place they are run: a
/// tool can never crash the worker.
/// </summary>
public sealed class ToolRegistry(IEnumerable<IAgentTool> tools, McpToolCatalog mcp, IOptions<WorkerOptions> options, ILogger<ToolRegistry> log)
{
    private readonly Dictionary<string, IAgentTool> _tools = tools.ToDictionary(t => t.Spec.Name, StringComparer.Ordinal);

    public IReadOnlyList<ToolSpec> Specs => [.. _tools.Values.Select(t => t.Spec), .. mcp.Tools.Select(t => t.Spec)];

    /// <summary>What <c>GET /api/v1/tools</c> lists: every tool the model is offered now.</summary>
    public IReadOnlyList<Contracts.AgentTool> Describe() =>
    [
        .. _tools.Values.Select(t => new Contracts.AgentTool(t.Spec.Name, t.Spec.Description, "builtin", NeedsApproval(t.Spec.Name), null, t.Spec.Parameters.GetRawText())),
        .. mcp.Tools.Select(t => new Contracts.AgentTool(t.ExposedName, t.Spec.Description, "mcp:" + t.Server, t.NeedsApproval, t.ReadOnly, t.Spec.Parameters.GetRawText())),
    ];

    /// <summary>For the system prompt: the MCP servers that are configured but down, so the model knows their tools are missing.</summary>
    public string? UnavailableNote() => mcp.Unavailable.ToList() is { Count: > 0 } down
        ? "These tool servers are unavailable right now, so their tools cannot be used: " + string.Join("; ", down.Select(d => $"{d.Server} ({d.Reason})")) + "."
        : null;

    public bool NeedsApproval(string name) =>
        options.Value.ApprovalRequiredTools.Contains(name, StringComparer.Ordinal) || mcp.Find(name)?.NeedsApproval == true;

    /// <param name="approved">Whether a user approved this call (an accepted or edited interrupt).</param>
    public async Task<ToolResult> RunAsync(ToolContext context, ToolCall call, CancellationToken ct, bool approved = false)
    {
        using var activity = AgentsTelemetry.Source.StartActivity("tool " + call.Name);
        activity?.SetTag("agents.tool.name", call.Name);
        activity?.SetTag("agents.task_id", context.TaskId);
        // Arguments may hold personal data (file contents, memories): only with Telemetry:RecordContent.
        if (AgentsTelemetry.RecordContent) activity?.SetTag("agents.tool.arguments", call.Arguments);
        var isMcp = !_tools.TryGetValue(call.Name, out var tool) && mcp.IsMcpName(call.Name);
        if (tool is null && !isMcp)
        {
            activity?.SetTag("agents.tool.ok", false);
            return ToolResult.Fail($"unknown tool '{call.Name}'");
        }
        var seconds = (isMcp ? mcp.TimeoutSeconds(call.Name) : null) ?? options.Value.ToolTimeoutSeconds;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        ToolResult result;
        try
        {
            using var args = JsonDocument.Parse(string.IsNullOrWhiteSpace(call.Arguments) ? "{}" : call.Arguments);
            result = isMcp
                ? await mcp.CallAsync(call.Name, context, call.Id, args.RootElement, approved, activity, timeout.Token)
                : await tool!.ExecuteAsync(context, args.RootElement, timeout.Token);
        }
        catch (JsonException)
        {
            result = ToolResult.Fail("arguments are not valid JSON");
        }
        catch (ToolException ex)
        {
            result = ToolResult.Fail(ex.Message);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            result = ToolResult.Fail($"timed out after {seconds} s");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Neither the task's cancel nor the time limit: whatever the tool waited on gave up under it.
            result = ToolResult.Fail($"{call.Name} failed: the call was cancelled before it finished");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            log.LogWarning(ex, "tool {Tool} failed", call.Name);
            result = ToolResult.Fail($"{call.Name} failed: {ex.Message}");
        }
        activity?.SetTag("agents.tool.ok", result.Ok);
        if (!result.Ok) activity?.SetStatus(ActivityStatusCode.Error);
        var max = options.Value.MaxToolResultChars;
        return result.Content.Length > max ? result with { Content = result.Content[..max] + $"… [truncated at {max} characters]" } : result;
    }
}
