namespace Agents.Micro.Storage.Files;

/// <summary>
/// A file or directory in a workspace. <paramref name="Path"/> is relative to the workspace root ("" is the root).
/// Directories have size 0; <paramref name="ModifiedAt"/> is Unix seconds (0 when the store has no date for a
/// directory, as object storage derives directories from key prefixes).
/// </summary>
public sealed record FileEntry(string Path, string Name, bool IsDirectory, long Size, double ModifiedAt);
