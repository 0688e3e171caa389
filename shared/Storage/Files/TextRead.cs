namespace Agents.Micro.Storage.Files;

/// <summary>A size-capped text read: the file, the text read, and whether the file went on beyond it.</summary>
public sealed record TextRead(FileEntry File, string Text, bool Truncated);
