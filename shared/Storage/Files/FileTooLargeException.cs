namespace Agents.Micro.Storage.Files;

/// <summary>The content was longer than the limit the caller set; nothing was stored.</summary>
public sealed class FileTooLargeException(long maxBytes)
    : Exception($"file is larger than the limit of {maxBytes} bytes")
{
    public long MaxBytes { get; } = maxBytes;
}
