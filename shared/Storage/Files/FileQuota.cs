using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Agents.Micro.Storage.Files;

/// <summary>
/// The per-user storage quota (<c>FileStorage:QuotaBytesPerUser</c>), checked before a write is published. What a user
/// uses is counted by listing their files at most once per <c>FileStorage:QuotaRecountSeconds</c> per process and kept
/// up to date in between by this process's own writes, so a write that fits costs no request at all, not a listing of
/// the workspace. Writes by other processes show up at the next count; near the limit the count is always taken afresh.
/// Like any check-then-write on object storage, two uploads racing at the limit can overshoot it by what they carry.
/// </summary>
public sealed class FileQuota(IFileStore store, IOptions<FileStorageOptions> options, TimeProvider time)
{
    private sealed record Usage(long Bytes, DateTimeOffset CountedAt);

    private readonly ConcurrentDictionary<string, Usage> _usage = new();

    /// <summary>
    /// Null error when <paramref name="newBytes"/> at <paramref name="path"/> fits (the file it replaces is not counted);
    /// otherwise the error to give the user, with what they use. <see cref="QuotaCheck.Replaced"/> goes to <see cref="Wrote"/>.
    /// </summary>
    public async Task<QuotaCheck> CheckAsync(string userId, string path, long newBytes, CancellationToken ct)
    {
        var quota = options.Value.QuotaBytesPerUser;
        if (quota <= 0) return new QuotaCheck(null, 0);
        // Fits even if the file it may replace is counted too: no request at all (the count may then run high by that
        // file's size, which only makes the next check near the quota count afresh).
        var used = await UsedAsync(userId, fresh: false, ct);
        if (used + newBytes <= quota) return new QuotaCheck(null, 0);
        used = await UsedAsync(userId, fresh: true, ct);
        var replaced = await store.StatAsync(userId, path, ct) is { IsDirectory: false } existing ? existing.Size : 0;
        if (used - replaced + newBytes <= quota) return new QuotaCheck(null, replaced);
        return new QuotaCheck(
            $"storage quota exceeded: you use {used} of {quota} bytes (FileStorage:QuotaBytesPerUser) and this file needs {newBytes}; delete files to make room",
            replaced);
    }

    /// <summary>A write this process published: <paramref name="bytes"/> in place of <paramref name="replaced"/>.</summary>
    public void Wrote(string userId, long bytes, long replaced) =>
        _usage.AddOrUpdate(userId, _ => new Usage(0, DateTimeOffset.MinValue), (_, u) => u with { Bytes = u.Bytes + bytes - replaced });

    /// <summary>Files were deleted: count again at the next check.</summary>
    public void Forget(string userId) => _usage.TryRemove(userId, out _);

    private async Task<long> UsedAsync(string userId, bool fresh, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (!fresh && _usage.TryGetValue(userId, out var u) && now - u.CountedAt < TimeSpan.FromSeconds(options.Value.QuotaRecountSeconds))
            return u.Bytes;
        long used = 0;
        await foreach (var f in store.EnumerateFilesAsync(userId, "", ct)) used += f.Size;
        _usage[userId] = new Usage(used, now);
        return used;
    }
}

/// <summary>A quota check: the error when the write does not fit, and the size of the file it replaces.</summary>
public sealed record QuotaCheck(string? Error, long Replaced);

/// <summary>A write refused by <see cref="FileQuota"/>.</summary>
public sealed class FileQuotaExceededException(string message) : Exception(message);
