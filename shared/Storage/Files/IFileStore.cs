namespace Agents.Micro.Storage.Files;

/// <summary>
/// Per-user workspaces of files. Every path is relative to the user's root and must already be normalized by
/// <see cref="WorkspacePath"/> (the store re-checks and throws <see cref="ArgumentException"/> otherwise); users
/// never see each other's files. Writes are atomic: a reader sees the old file or the new one, and a failed or
/// over-limit write leaves nothing behind.
/// </summary>
public interface IFileStore
{
    /// <summary>Prepares the backend (creates the bucket or the root folder). Idempotent.</summary>
    Task InitializeAsync(CancellationToken ct = default);

    /// <summary>Throws when the backend cannot be reached (the readiness check).</summary>
    Task CheckReadyAsync(CancellationToken ct = default);

    /// <summary>
    /// Reads <paramref name="content"/> to its end into a staging area, computing size and SHA-256 as it streams,
    /// without holding the whole content in memory. Throws <see cref="FileTooLargeException"/> (after discarding
    /// what was read) when it exceeds <paramref name="maxBytes"/>. Pass <paramref name="targetPath"/> when the final
    /// path is already known: the store can then write in place and skip a copy on commit.
    /// </summary>
    Task<IStagedFile> StageAsync(string userId, Stream content, long maxBytes, string? targetPath = null, CancellationToken ct = default);

    /// <summary>A file or directory, or null when nothing is at <paramref name="path"/>. The root ("") always exists.</summary>
    Task<FileEntry?> StatAsync(string userId, string path, CancellationToken ct = default);

    /// <summary>Opens a file for streaming, or null when no file is at <paramref name="path"/>.</summary>
    Task<OpenedFile?> OpenReadAsync(string userId, string path, CancellationToken ct = default);

    /// <summary>
    /// One level of a directory, directories first then by name (ordinal), or null when it does not exist.
    /// The root of an empty workspace lists as empty.
    /// </summary>
    Task<IReadOnlyList<FileEntry>?> ListAsync(string userId, string directory, CancellationToken ct = default);

    /// <summary>Every file under <paramref name="directory"/>, recursively, streamed page by page (for zips).</summary>
    IAsyncEnumerable<FileEntry> EnumerateFilesAsync(string userId, string directory, CancellationToken ct = default);

    /// <summary>Deletes a file, or a directory with everything in it. False when nothing was there.</summary>
    Task<bool> DeleteAsync(string userId, string path, CancellationToken ct = default);
}
