using System.Diagnostics;
using System.Text.Json;
using Agents.Micro.AgentWorker.Models;
using Agents.Micro.AgentWorker.Options;
using Agents.Micro.ServiceDefaults.Telemetry;
using Microsoft.Extensions.Options;

namespace Agents.Micro.AgentWorker.Tools;

/// <summary>The tools offered to the model, and the one place they are run: a tool can never crash the worker.</summary>
public sealed class ToolRegistry(IEnumerable<IAgentTool> tools, IOptions<WorkerOptions> options, ILogger<ToolRegistry> log)
{
    private readonly Dictionary<string, IAgentTool> _tools = tools.ToDictionary(t => t.Spec.Name, StringComparer.Ordinal);

    public IReadOnlyList<ToolSpec> Specs => _tools.Values.Select(t => t.Spec).ToList();

    public bool NeedsApproval(string name) => options.Value.ApprovalRequiredTools.Contains(name, StringComparer.Ordinal);

    public async Task<ToolResult> RunAsync(ToolContext context, ToolCall call, CancellationToken ct)
    {
        using var activity = AgentsTelemetry.Source.StartActivity("tool " + call.Name);
        activity?.SetTag("agents.tool.name", call.Name);
        activity?.SetTag("agents.task_id", context.TaskId);
        // Arguments may hold personal data (file contents, memories): only with Telemetry:RecordContent.
        if (AgentsTelemetry.RecordContent) activity?.SetTag("agents.tool.arguments", call.Arguments);
        if (!_tools.TryGetValue(call.Name, out var tool))
        {
            activity?.SetTag("agents.tool.ok", false);
            return ToolResult.Fail($"unknown tool '{call.Name}'");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.ToolTimeoutSeconds));
        ToolResult result;
        try
        {
            using var args = JsonDocument.Parse(string.IsNullOrWhiteSpace(call.Arguments) ? "{}" : call.Arguments);
            result = await tool.ExecuteAsync(context, args.RootElement, timeout.Token);
        }
        catch (JsonException)
        {
            result = ToolResult.Fail("arguments are not valid JSON");
        }
        catch (ToolException ex)
        {
            result = ToolResult.Fail(ex.Message);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            result = ToolResult.Fail($"timed out after {options.Value.ToolTimeoutSeconds} s");
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
