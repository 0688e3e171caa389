namespace Agents.Micro.Storage.Files;

/// <summary>The per-user storage quota (<c>FileStorage:QuotaBytesPerUser</c>), checked before a write is published.</summary>
public static class FileQuota
{
    /// <summary>
    /// Null when <paramref name="newBytes"/> at <paramref name="path"/> fits (the file it replaces is not counted);
    /// otherwise the error to give the user, with what they use.
    /// </summary>
    public static async Task<string?> CheckAsync(IFileStore store, string userId, string path, long newBytes, long quota, CancellationToken ct)
    {
        if (quota <= 0) return null;
        long used = 0, replaced = 0;
        await foreach (var f in store.EnumerateFilesAsync(userId, "", ct))
        {
            used += f.Size;
            if (f.Path == path) replaced = f.Size;
        }
        if (used - replaced + newBytes <= quota) return null;
        return $"storage quota exceeded: you use {used} of {quota} bytes (FileStorage:QuotaBytesPerUser) and this file needs {newBytes}; delete files to make room";
    }
}

/// <summary>A write refused by <see cref="FileQuota"/>.</summary>
public sealed class FileQuotaExceededException(string message) : Exception(message);
