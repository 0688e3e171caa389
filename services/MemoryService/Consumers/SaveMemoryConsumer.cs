using Agents.Micro.Contracts;

namespace Agents.Micro.MemoryService.Consumers;

/// <summary>
/// Answers <see cref="SaveMemory"/> with <see cref="MemorySaved"/>. Invalid content throws <see cref="ArgumentException"/>,
/// which is not retried and reaches the requester as a fault (<c>RequestFaultException</c>) carrying the reason.
/// </summary>
public sealed class SaveMemoryConsumer(IMemoryStore store, IOptions<MemoryOptions> options, ILogger<SaveMemoryConsumer> log)
    : IConsumer<SaveMemory>
{
    public async Task Consume(ConsumeContext<SaveMemory> context)
    {
        var m = context.Message;
        if (string.IsNullOrEmpty(m.UserId)) throw new ArgumentException("SaveMemory.UserId is required");
        if (MemoryInput.CheckContent(m.Content, options.Value) is { } bad) throw new ArgumentException(bad);

        var saved = await store.SaveAsync(m.UserId, new NewMemory(m.Content), context.CancellationToken);
        log.LogInformation("memory {MemoryId} saved for {UserId} (duplicate: {Duplicate})", saved.Id, m.UserId, saved.Duplicate);
        await context.RespondAsync(new MemorySaved(saved.Id, saved.Duplicate));
    }
}
