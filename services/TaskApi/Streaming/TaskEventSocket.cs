using System.Net.WebSockets;
using Agents.Micro.TaskApi.Endpoints;

namespace Agents.Micro.TaskApi.Streaming;

/// <summary>
/// One WebSocket following one task. Only the send loop writes to the socket; the receive loop turns
/// <c>{"from": N}</c> into a restart of the send loop at N, and the client's close into the end of the session.
/// </summary>
public sealed class TaskEventSocket(WebSocket socket, TaskEventFollower follower, JsonSerializerOptions json, ILogger log)
{
    private const int MaxClientMessageBytes = 4096;
    private readonly Lock _lock = new();
    private CancellationTokenSource? _follow;
    private long? _restartAt;
    private (WebSocketCloseStatus Status, string Reason)? _closeWith;

    public async Task RunAsync(string taskId, long from, bool taskEnded, CancellationToken aborted)
    {
        using var sessionCts = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var session = sessionCts.Token;
        var receive = ReceiveLoopAsync(session);
        try
        {
            while (await FollowOnceAsync(taskId, from, taskEnded, session) is { } restartAt) from = restartAt;
            var (status, reason) = _closeWith!.Value;
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(status, reason, session);
            // Give the client a moment to answer the close, then let go of the connection either way.
            try { await receive.WaitAsync(TimeSpan.FromSeconds(5), session); }
            catch (TimeoutException) { }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The client went away mid-stream: nothing to tell it.
            log.LogDebug("task {TaskId} socket ended: {Error}", taskId, ex.Message);
        }
        finally
        {
            await sessionCts.CancelAsync();
        }
    }

    /// <summary>Sends events from <paramref name="from"/> on. Returns the offset to start again at, or null when the session should close.</summary>
    private async Task<long?> FollowOnceAsync(string taskId, long from, bool taskEnded, CancellationToken session)
    {
        using var follow = CancellationTokenSource.CreateLinkedTokenSource(session);
        lock (_lock)
        {
            if (_closeWith is not null) return null;
            _follow = follow;
        }
        try
        {
            await foreach (var batch in follower.FollowAsync(taskId, from, taskEnded, follow.Token))
                foreach (var e in batch)
                    // The session token, not the follow token: cancelling a send would abort the whole socket.
                    await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(StreamEndpoints.ToDto(e), json),
                        WebSocketMessageType.Text, true, session);
            lock (_lock) _closeWith ??= (WebSocketCloseStatus.NormalClosure, "task finished");
            return null;
        }
        catch (OperationCanceledException) when (follow.IsCancellationRequested && !session.IsCancellationRequested)
        {
            lock (_lock)
            {
                if (_closeWith is not null) return null;
                var restartAt = _restartAt ?? from;
                _restartAt = null;
                return restartAt;
            }
        }
        finally
        {
            lock (_lock) _follow = null;
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken ct)
    {
        var buffer = new byte[MaxClientMessageBytes];
        try
        {
            while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                var count = 0;
                ValueWebSocketReceiveResult r;
                do
                {
                    if (count == buffer.Length)
                    {
                        Stop(WebSocketCloseStatus.MessageTooBig, $"client messages are at most {MaxClientMessageBytes} bytes");
                        return;
                    }
                    r = await socket.ReceiveAsync(buffer.AsMemory(count), ct);
                    count += r.Count;
                } while (!r.EndOfMessage && r.MessageType != WebSocketMessageType.Close);

                if (r.MessageType == WebSocketMessageType.Close)
                {
                    Stop(WebSocketCloseStatus.NormalClosure, "bye");
                    return;
                }
                if (ParseFrom(buffer.AsSpan(0, count), r.MessageType) is not { } from)
                {
                    Stop(WebSocketCloseStatus.PolicyViolation, "expected a text message {\"from\": N} with N a non-negative integer");
                    return;
                }
                lock (_lock)
                {
                    if (_closeWith is not null) return;
                    _restartAt = from;
                    _follow?.Cancel();
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            Stop(WebSocketCloseStatus.NormalClosure, "bye");
        }
    }

    private void Stop(WebSocketCloseStatus status, string reason)
    {
        lock (_lock)
        {
            _closeWith ??= (status, reason);
            _follow?.Cancel();
        }
    }

    private static long? ParseFrom(ReadOnlySpan<byte> message, WebSocketMessageType type)
    {
        if (type != WebSocketMessageType.Text) return null;
        try
        {
            var reader = new Utf8JsonReader(message);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            long? from = null;
            foreach (var p in root.EnumerateObject())
            {
                if (p.Name != "from" || p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt64(out var n) || n < 0) return null;
                from = n;
            }
            return from;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
