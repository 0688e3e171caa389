using System.Text;
using System.Text.Json;

namespace Agents.Micro.Streaming.Tests;

/// <summary>One Server-Sent Event as a client sees it.</summary>
public sealed record SseEvent(string? Id, string? Type, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement.Clone();
    public long Idx => long.Parse(Id!);
}

/// <summary>A minimal <c>text/event-stream</c> parser (the WHATWG rules the tests rely on): events, comments, end of stream.</summary>
public sealed class SseReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8);

    public int Comments { get; private set; }
    public int? Retry { get; private set; }

    /// <summary>The next event, or null when the server ended the stream.</summary>
    public async Task<SseEvent?> NextAsync(CancellationToken ct = default)
    {
        string? id = null, type = null;
        var data = new List<string>();
        while (await _reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Count > 0) return new SseEvent(id, type, string.Join('\n', data));
                id = null;
                type = null;
                continue;
            }
            if (line.StartsWith(':'))
            {
                Comments++;
                continue;
            }
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id": id = value; break;
                case "event": type = value; break;
                case "data": data.Add(value); break;
                case "retry": Retry = int.Parse(value); break;
            }
        }
        return null;
    }

    public void Dispose() => _reader.Dispose();
}
