namespace Agents.Micro.Storage.Files;

/// <summary>
/// Content that has been read completely (size and SHA-256 known) but is not yet visible in the workspace.
/// <see cref="CommitAsync"/> makes it appear at its path, atomically replacing any file there; disposing an
/// uncommitted staged file discards it, leaving storage exactly as it was.
/// </summary>
public interface IStagedFile : IAsyncDisposable
{
    long Size { get; }

    /// <summary>Lowercase hex SHA-256 of the content, computed while it streamed in.</summary>
    string Sha256 { get; }

    /// <summary>
    /// Publishes the content at <paramref name="path"/> (normalized; see <see cref="WorkspacePath"/>).
    /// Throws <see cref="FileConflictException"/> when a directory is at that path or a file is where a parent
    /// directory must be. If the file was staged with a target path, <paramref name="path"/> must be that path.
    /// </summary>
    Task<FileWriteResult> CommitAsync(string path, CancellationToken ct = default);
}
