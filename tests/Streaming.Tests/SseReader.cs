using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;

namespace Agents.Micro.Streaming.Tests;

/// <summary>One Server-Sent Event as a client sees it.</summary>
public sealed record SseEvent(string? Id, string? Type, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement.Clone();
    public long Idx => long.Parse(Id!);
}

/// <summary>
/// A <c>text/event-stream</c> client: .NET's <see cref="SseParser"/> parses the events; the bytes it reads pass a tap
/// that counts comment lines (keep-alives), which a parser rightly hides from its caller.
/// </summary>
public sealed class SseReader : IDisposable
{
    private readonly CommentTap _tap;
    private readonly SseParser<string> _parser;
    private IAsyncEnumerator<SseItem<string>>? _items;

    public SseReader(Stream stream)
    {
        _tap = new CommentTap(stream);
        _parser = SseParser.Create(_tap);
    }

    public int Comments => _tap.Comments;

    /// <summary>The server's <c>retry:</c> hint in milliseconds, once it was sent.</summary>
    public int? Retry => _parser.ReconnectionInterval == Timeout.InfiniteTimeSpan ? null : (int)_parser.ReconnectionInterval.TotalMilliseconds;

    /// <summary>The next event, or null when the server ended the stream.</summary>
    public async Task<SseEvent?> NextAsync(CancellationToken ct = default)
    {
        _items ??= _parser.EnumerateAsync(ct).GetAsyncEnumerator(ct);
        while (await _items.MoveNextAsync())
        {
            var item = _items.Current;
            if (item.Data.Length == 0) continue;   // a block with no data (e.g. "retry:" alone) is no event
            return new SseEvent(item.EventId, item.EventType, item.Data);
        }
        return null;
    }

    public void Dispose() => _tap.Dispose();

    /// <summary>Passes the stream through unchanged, counting lines that start with ':' on the way.</summary>
    private sealed class CommentTap(Stream inner) : Agents.Micro.TestSupport.ReadOnlyStream
    {
        private bool _atLineStart = true;
        public int Comments { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            var n = await inner.ReadAsync(buffer, ct);
            foreach (var b in buffer.Span[..n])
            {
                if (_atLineStart && b == (byte)':') Comments++;
                _atLineStart = b == (byte)'\n';
            }
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
