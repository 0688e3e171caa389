namespace Agents.Micro.Storage.Files;

/// <summary>What a completed write stored: the normalized path, its size in bytes and its SHA-256 (lowercase hex).</summary>
public sealed record FileWriteResult(string Path, long Size, string Sha256);
