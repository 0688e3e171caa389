using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Agents.Micro.TestSupport;

/// <summary>
/// A TCP proxy in front of PostgreSQL that, when armed, lets one <c>COMMIT</c> through to the server and then drops the
/// server's answer and the connection: the transaction is committed, but the client never hears so (the failure a
/// network blip or a failover at the wrong moment causes). Everything else passes untouched.
/// </summary>
public sealed class CommitReplyDropper : IAsyncDisposable
{
    // The protocol's simple Query message "COMMIT": 'Q', length 11 (itself + the text + NUL), "COMMIT\0" (not the
    // "READ COMMITTED" of a BEGIN).
    private static readonly byte[] Commit = [(byte)'Q', 0, 0, 0, 11, .. Encoding.ASCII.GetBytes("COMMIT"), 0];
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private int _armed, _dropped, _connections, _commitsSeen;

    /// <summary>Connections relayed and COMMITs seen, for a test's message when something did not happen.</summary>
    public string? LastCommitChunk { get; private set; }
    public string Stats => $"{_connections} connection(s), {_commitsSeen} COMMIT(s) seen, {_dropped} answer(s) dropped; last: {LastCommitChunk}";

    private CommitReplyDropper(string host, int port)
    {
        _host = host;
        _port = port;
        _listener.Start();
        _ = AcceptLoopAsync();
    }

    public static CommitReplyDropper Start(string host, int port) => new(host, port);

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Commits whose answer was dropped so far.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    /// <summary>The next COMMIT any connection sends goes through; its answer does not come back.</summary>
    public void ArmOnce() => Volatile.Write(ref _armed, 1);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            Interlocked.Increment(ref _connections);
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient();
        try
        {
            await server.ConnectAsync(_host, _port, _stop.Token);
            var c = client.GetStream();
            var s = server.GetStream();
            var dropReply = new TaskCompletionSource();
            var up = PumpAsync(c, s, chunk =>
            {
                if (chunk.AsSpan().IndexOf(Commit) < 0) return;
                Interlocked.Increment(ref _commitsSeen);
                LastCommitChunk = new string(Encoding.ASCII.GetString(chunk).Select(ch => ch is >= ' ' and <= '~' ? ch : '.').ToArray());
                if (Interlocked.Exchange(ref _armed, 0) == 1) dropReply.TrySetResult();
            });
            var down = PumpDownAsync(s, c, dropReply.Task);
            await Task.WhenAny(up, down);
        }
        catch (Exception)
        {
            // a connection ending is the normal way out
        }
    }

    private async Task PumpAsync(Stream from, Stream to, Action<byte[]> inspect)
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            inspect(buffer[..n]);
            await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
        }
    }

    /// <summary>Server → client, until a COMMIT was armed: then its answer is read and thrown away, and the line cut.</summary>
    private async Task PumpDownAsync(Stream from, Stream to, Task drop)
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            if (drop.IsCompleted)
            {
                Interlocked.Increment(ref _dropped);
                return; // the answer to COMMIT (the server has committed by now) never reaches the client
            }
            await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        _stop.Dispose();
    }
}
