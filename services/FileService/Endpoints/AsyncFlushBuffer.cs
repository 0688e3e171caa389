namespace Agents.Micro.FileService.Endpoints;

/// <summary>
/// Sits between <see cref="System.IO.Compression.ZipArchive"/> and the response body. Some of the archive's writes
/// are synchronous (an entry's final deflate block and data descriptor when it is disposed, the central directory),
/// which Kestrel refuses; here every write lands in a small buffer, async writes drain it once it passes
/// <see cref="FlushThreshold"/>, and the caller drains it with <see cref="DrainAsync"/> between entries.
/// Memory stays bounded by the threshold plus what one synchronous burst writes.
/// </summary>
public sealed class AsyncFlushBuffer(Stream destination) : Stream
{
    public const int FlushThreshold = 64 * 1024;
    private readonly MemoryStream _pending = new();
    private long _written;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _written; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _pending.Write(buffer);
        _written += buffer.Length;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        if (_pending.Length >= FlushThreshold) await DrainAsync(cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Sends everything buffered so far to the destination.</summary>
    public async Task DrainAsync(CancellationToken ct)
    {
        if (_pending.Length == 0) return;
        await destination.WriteAsync(_pending.GetBuffer().AsMemory(0, (int)_pending.Length), ct);
        _pending.SetLength(0);
        // Don't keep a buffer grown by one large burst (a big central directory) for the rest of the download.
        if (_pending.Capacity > 4 * FlushThreshold) _pending.Capacity = FlushThreshold;
    }

    public override void Flush() { }

    public override Task FlushAsync(CancellationToken cancellationToken) => DrainAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
