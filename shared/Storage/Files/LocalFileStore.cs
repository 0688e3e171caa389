using System.Buffers;
using System.Runtime.CompilerServices;

namespace Agents.Micro.Storage.Files;

/// <summary>
/// Workspaces in a folder: <c>{root}/{userId}/{path}</c>. Writes go to <c>{root}/.staging</c> first and are renamed
/// into place, so a file is replaced atomically and a failed write leaves nothing (user ids never start with a dot,
/// so the staging folder cannot be anyone's workspace). Directories that become empty through a delete are removed,
/// as directories derived from object keys would vanish.
/// </summary>
public sealed class LocalFileStore : IFileStore
{
    private const int CopyBufferSize = 128 * 1024;
    private readonly string _root;
    private readonly string _staging;

    public LocalFileStore(string root)
    {
        _root = Path.GetFullPath(root);
        _staging = Path.Combine(_root, ".staging");
    }

    public Task InitializeAsync(CancellationToken ct = default)
    {
        Directory.CreateDirectory(_staging);
        return Task.CompletedTask;
    }

    public Task CheckReadyAsync(CancellationToken ct = default)
    {
        if (!Directory.Exists(_staging)) throw new DirectoryNotFoundException($"file store folder '{_root}' is missing");
        return Task.CompletedTask;
    }

    public async Task<IStagedFile> StageAsync(string userId, Stream content, long maxBytes, string? targetPath = null, CancellationToken ct = default)
    {
        UserRoot(userId);
        if (targetPath is not null) FullPath(userId, targetPath, allowRoot: false);
        Directory.CreateDirectory(_staging);
        var temp = Path.Combine(_staging, Guid.NewGuid().ToString("N"));
        using var meter = new ContentMeter(maxBytes);
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
            {
                int n;
                while ((n = await meter.FillAsync(content, buffer.AsMemory(0, CopyBufferSize), ct)) > 0)
                    await file.WriteAsync(buffer.AsMemory(0, n), ct);
                await file.FlushAsync(ct);
            }
            return new Staged(this, userId, temp, targetPath, meter.Size, meter.Sha256Hex());
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public Task<FileEntry?> StatAsync(string userId, string path, CancellationToken ct = default)
    {
        var full = FullPath(userId, path, allowRoot: true);
        if (path.Length == 0) return Task.FromResult<FileEntry?>(new FileEntry("", "", true, 0, RootModified(full)));
        FileSystemInfo info = File.Exists(full) ? new FileInfo(full) : new DirectoryInfo(full);
        return Task.FromResult(info.Exists && info.LinkTarget is null ? ToEntry(info, path) : null);
    }

    public Task<OpenedFile?> OpenReadAsync(string userId, string path, CancellationToken ct = default)
    {
        var full = FullPath(userId, path, allowRoot: false);
        var info = new FileInfo(full);
        if (!info.Exists || info.LinkTarget is not null) return Task.FromResult<OpenedFile?>(null);
        try
        {
            var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, CopyBufferSize,
                FileOptions.Asynchronous | FileOptions.SequentialScan);
            return Task.FromResult<OpenedFile?>(new OpenedFile(ToEntry(info, path), stream));
        }
        catch (FileNotFoundException)
        {
            return Task.FromResult<OpenedFile?>(null);
        }
    }

    public Task<IReadOnlyList<FileEntry>?> ListAsync(string userId, string directory, CancellationToken ct = default)
    {
        var full = FullPath(userId, directory, allowRoot: true);
        var dir = new DirectoryInfo(full);
        if (!dir.Exists || dir.LinkTarget is not null)
            return Task.FromResult<IReadOnlyList<FileEntry>?>(directory.Length == 0 ? [] : null);
        var items = dir.EnumerateFileSystemInfos()
            .Where(i => i.LinkTarget is null && WorkspacePath.TryNormalizeName(i.Name, out var n, out _) && n == i.Name)
            .Select(i => ToEntry(i, WorkspacePath.Combine(directory, i.Name)))
            .OrderByDescending(e => e.IsDirectory).ThenBy(e => e.Name, StringComparer.Ordinal)
            .ToList();
        return Task.FromResult<IReadOnlyList<FileEntry>?>(items);
    }

    public async IAsyncEnumerable<FileEntry> EnumerateFilesAsync(string userId, string directory, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var full = FullPath(userId, directory, allowRoot: true);
        if (!Directory.Exists(full)) yield break;
        var pending = new Stack<(DirectoryInfo Dir, string Path)>();
        pending.Push((new DirectoryInfo(full), directory));
        while (pending.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            var (dir, path) = pending.Pop();
            // Sorted so that a zip lists a directory's files in a stable order.
            foreach (var info in dir.EnumerateFileSystemInfos().OrderBy(i => i.Name, StringComparer.Ordinal))
            {
                if (info.LinkTarget is not null || !WorkspacePath.TryNormalizeName(info.Name, out var name, out _) || name != info.Name) continue;
                var childPath = WorkspacePath.Combine(path, info.Name);
                if (info is DirectoryInfo sub) pending.Push((sub, childPath));
                else yield return ToEntry(info, childPath);
            }
            await Task.Yield();
        }
    }

    public Task<bool> DeleteAsync(string userId, string path, CancellationToken ct = default)
    {
        var full = FullPath(userId, path, allowRoot: false);
        var deleted = false;
        if (File.Exists(full))
        {
            File.Delete(full);
            deleted = true;
        }
        else if (Directory.Exists(full))
        {
            Directory.Delete(full, recursive: true);
            deleted = true;
        }
        if (deleted) PruneEmptyParents(userId, path);
        return Task.FromResult(deleted);
    }

    private void PruneEmptyParents(string userId, string path)
    {
        var userRoot = UserRoot(userId);
        for (var parent = WorkspacePath.ParentOf(path); !string.IsNullOrEmpty(parent); parent = WorkspacePath.ParentOf(parent))
        {
            var dir = Path.Combine(userRoot, parent);
            try
            {
                if (Directory.EnumerateFileSystemEntries(dir).Any()) return;
                Directory.Delete(dir);
            }
            catch (IOException)
            {
                return; // Someone wrote into it meanwhile; it is not empty after all.
            }
        }
    }

    private async Task<FileWriteResult> CommitAsync(string userId, string temp, string path, long size, string sha256)
    {
        var full = FullPath(userId, path, allowRoot: false);
        var userRoot = UserRoot(userId);
        if (Directory.Exists(full)) throw new FileConflictException($"'{path}' is a directory");
        for (var parent = WorkspacePath.ParentOf(path); !string.IsNullOrEmpty(parent); parent = WorkspacePath.ParentOf(parent))
            if (File.Exists(Path.Combine(userRoot, parent))) throw new FileConflictException($"'{parent}' is a file, not a directory");
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // rename(2) within one file system: readers see the old file or the new one, never a half-written one.
        File.Move(temp, full, overwrite: true);
        await Task.CompletedTask;
        return new FileWriteResult(path, size, sha256);
    }

    private string UserRoot(string userId)
    {
        WorkspacePath.EnsureValidUserId(userId);
        return Path.Combine(_root, userId);
    }

    private string FullPath(string userId, string path, bool allowRoot)
    {
        var userRoot = UserRoot(userId);
        if (!WorkspacePath.TryNormalize(path, allowRoot, out var normalized, out var error) || normalized != path)
            throw new ArgumentException(error ?? "path is not normalized", nameof(path));
        if (path.Length == 0) return userRoot;
        var full = Path.GetFullPath(Path.Combine(userRoot, path));
        // Defence in depth: the validator already rules out every way out of the user's folder.
        if (!full.StartsWith(userRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException("path leaves the workspace", nameof(path));
        return full;
    }

    private static FileEntry ToEntry(FileSystemInfo info, string path) => info is FileInfo f
        ? new FileEntry(path, WorkspacePath.NameOf(path), false, f.Length, UnixSeconds.From(f.LastWriteTimeUtc))
        : new FileEntry(path, WorkspacePath.NameOf(path), true, 0, UnixSeconds.From(info.LastWriteTimeUtc));

    private static double RootModified(string full) =>
        Directory.Exists(full) ? UnixSeconds.From(Directory.GetLastWriteTimeUtc(full)) : 0;

    private static void TryDelete(string file)
    {
        try { File.Delete(file); }
        catch (IOException) { /* best effort: the staging folder holds nothing anyone can see */ }
    }

    private sealed class Staged(LocalFileStore store, string userId, string temp, string? target, long size, string sha256) : IStagedFile
    {
        private bool _done;

        public long Size => size;
        public string Sha256 => sha256;

        public async Task<FileWriteResult> CommitAsync(string path, CancellationToken ct = default)
        {
            ObjectDisposedException.ThrowIf(_done, this);
            if (target is not null && target != path) throw new InvalidOperationException($"staged for '{target}', not '{path}'");
            var result = await store.CommitAsync(userId, temp, path, size, sha256);
            _done = true;
            return result;
        }

        public ValueTask DisposeAsync()
        {
            if (!_done) TryDelete(temp);
            _done = true;
            return ValueTask.CompletedTask;
        }
    }
}
