namespace Agents.Micro.Storage.Files;

/// <summary>A file opened for reading: its metadata and a forward-only content stream. Dispose it when done.</summary>
public sealed class OpenedFile(FileEntry entry, Stream content, IDisposable? owner = null) : IAsyncDisposable
{
    public FileEntry Entry { get; } = entry;
    public Stream Content { get; } = content;

    public async ValueTask DisposeAsync()
    {
        await Content.DisposeAsync();
        owner?.Dispose();
    }
}
