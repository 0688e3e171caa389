using System.Security.Cryptography;

namespace Agents.Micro.Storage.Files;

/// <summary>Reads content chunk by chunk, counting bytes against a limit and hashing them as they pass.</summary>
internal sealed class ContentMeter(long maxBytes) : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long Size { get; private set; }

    /// <summary>Fills <paramref name="buffer"/> as far as the content goes; fewer bytes than its length means the end.</summary>
    public async ValueTask<int> FillAsync(Stream source, Memory<byte> buffer, CancellationToken ct)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var n = await source.ReadAsync(buffer[filled..], ct);
            if (n == 0) break;
            // Checked per read, so an over-limit upload stops within one read of the limit instead of at the end.
            if (Size + filled + n > maxBytes) throw new FileTooLargeException(maxBytes);
            _hash.AppendData(buffer.Span.Slice(filled, n));
            filled += n;
        }
        Size += filled;
        return filled;
    }

    public string Sha256Hex() => Convert.ToHexStringLower(_hash.GetCurrentHash());

    public void Dispose() => _hash.Dispose();
}
