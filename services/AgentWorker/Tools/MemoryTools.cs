namespace Agents.Micro.AgentWorker.Tools;

/// <summary><c>remember</c>: stores a long-term memory through MemoryService (never its tables directly).</summary>
public sealed class RememberTool(IRequestClient<SaveMemory> client) : IAgentTool
{
    public ToolSpec Spec { get; } = new("remember", "Store a fact about the user in long-term memory, available in later conversations.",
        ToolArgs.Schema("""{"type":"object","properties":{"content":{"type":"string","description":"The fact to remember"}},"required":["content"]}"""));

    public async Task<ToolResult> ExecuteAsync(ToolContext context, JsonElement args, CancellationToken ct)
    {
        var content = ToolArgs.String(args, "content").Trim();
        if (content.Length == 0) throw new ToolException("content must not be empty");
        // WaitAsync: the tool's time limit holds even when a send waits on a reconnecting broker without watching ct.
        var r = await client.GetResponse<MemorySaved>(new SaveMemory(context.UserId, content), ct, RequestTimeout.After(s: 10)).WaitAsync(ct);
        return new ToolResult(true, r.Message.Duplicate ? $"already remembered (memory {r.Message.MemoryId})" : $"saved as memory {r.Message.MemoryId}");
    }
}

/// <summary><c>recall</c>: searches the user's long-term memory through MemoryService.</summary>
public sealed class RecallTool(IRequestClient<RecallMemories> client) : IAgentTool
{
    public ToolSpec Spec { get; } = new("recall", "Search the user's long-term memory.",
        ToolArgs.Schema("""{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer","minimum":1,"maximum":20}},"required":["query"]}"""));

    public async Task<ToolResult> ExecuteAsync(ToolContext context, JsonElement args, CancellationToken ct)
    {
        var query = ToolArgs.String(args, "query");
        var limit = ToolArgs.Int(args, "limit", 5, 1, 20);
        var r = await client.GetResponse<MemoriesRecalled>(new RecallMemories(context.UserId, query, limit), ct, RequestTimeout.After(s: 10)).WaitAsync(ct);
        return r.Message.Items.Count == 0
            ? new ToolResult(true, "nothing found")
            : new ToolResult(true, string.Join("; ", r.Message.Items.Select(i => i.Content)));
    }
}
