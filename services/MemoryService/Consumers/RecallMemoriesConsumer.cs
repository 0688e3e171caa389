using Agents.Micro.Contracts;

namespace Agents.Micro.MemoryService.Consumers;

/// <summary>Answers <see cref="RecallMemories"/> with the user's most relevant memories (none for an empty query).</summary>
public sealed class RecallMemoriesConsumer(IMemoryStore store, IOptions<MemoryOptions> options, ILogger<RecallMemoriesConsumer> log)
    : IConsumer<RecallMemories>
{
    public async Task Consume(ConsumeContext<RecallMemories> context)
    {
        var m = context.Message;
        if (string.IsNullOrEmpty(m.UserId)) throw new ArgumentException("RecallMemories.UserId is required");
        var limit = Math.Clamp(m.Limit, 1, options.Value.MaxRecallLimit);
        var query = m.Query ?? "";
        if (query.Length > options.Value.MaxQueryLength) query = query[..options.Value.MaxQueryLength];

        var page = string.IsNullOrWhiteSpace(query)
            ? new MemoryPage([], 0)
            : await store.SearchAsync(m.UserId, query, limit, 0, context.CancellationToken);
        log.LogDebug("recalled {Count} memories for {UserId}", page.Items.Count, m.UserId);
        await context.RespondAsync(new MemoriesRecalled(
            page.Items.Select(i => new RecalledMemory(i.Memory.Id, i.Memory.Content, i.Score ?? 0, i.Memory.CreatedAt)).ToList()));
    }
}
