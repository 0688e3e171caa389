namespace Agents.Micro.AgentWorker.Tools;

/// <summary>Who a tool acts for.</summary>
public sealed record ToolContext(string UserId, string TaskId, string ConversationId);

/// <summary>A tool's outcome: the model sees <see cref="Content"/> either way.</summary>
public sealed record ToolResult(bool Ok, string Content, string? FileWritten = null)
{
    public static ToolResult Fail(string error) => new(false, "ERROR: " + error);
}

/// <summary>Thrown by a tool for a failure the model should be told about (bad arguments, missing file…).</summary>
public sealed class ToolException(string message) : Exception(message);

/// <summary>A tool the agent may call. Implementations validate their own arguments.</summary>
public interface IAgentTool
{
    ToolSpec Spec { get; }
    Task<ToolResult> ExecuteAsync(ToolContext context, JsonElement args, CancellationToken ct);
}
