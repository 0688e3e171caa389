namespace Agents.Micro.TaskApi.Tasks;

/// <summary>
/// v1 conversation ids look like <c>conv_20260123_234245_036</c> (UTC, to the millisecond). Two conversations created
/// in the same millisecond must still differ: the insert is the uniqueness check, and a clash moves to the next millisecond.
/// </summary>
public static class ConversationIds
{
    public static string Format(DateTimeOffset t) => "conv_" + t.UtcDateTime.ToString("yyyyMMdd_HHmmss_fff", System.Globalization.CultureInfo.InvariantCulture);

    public static async Task<string> CreateAsync(ITaskStore store, string userId, CancellationToken ct, string? title = null)
    {
        var t = DateTimeOffset.UtcNow;
        for (var i = 0; i < 1000; i++, t = t.AddMilliseconds(1))
        {
            var id = Format(t);
            var now = UnixTime.Now();
            if (await store.CreateConversationAsync(new Conversation { Id = id, UserId = userId, Title = title, CreatedAt = now, UpdatedAt = now }, ct))
                return id;
        }
        throw new InvalidOperationException("could not allocate a conversation id");
    }
}
