using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Agents.Micro.TestSupport;

/// <summary>
/// A plain HTTP pass-through in front of a real server that remembers what each request carried (a header's value, the
/// body's start), so a test can check what reached the server. Responses stream through as they come (SSE included).
/// </summary>
public sealed class RecordingProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private static readonly HttpClient Http = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };

    public sealed record Seen(string Method, string? Header, string Body)
    {
        /// <summary>The client went away before the response was over (how a Streamable HTTP client cancels a request).</summary>
        public volatile bool Aborted;
    }

    public ConcurrentQueue<Seen> Requests { get; } = new();
    public string BaseUrl { get; }

    private RecordingProxy(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>Forwards every request to <paramref name="target"/> (scheme, host, port), recording <paramref name="header"/>.</summary>
    public static async Task<RecordingProxy> StartAsync(Uri target, string header)
    {
        var port = TestEnv.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var proxy = new RecordingProxy(app, $"http://127.0.0.1:{port}");
        app.Run(async ctx =>
        {
            using var body = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(body, ctx.RequestAborted);
            var bytes = body.ToArray();
            var seen = new Seen(ctx.Request.Method, ctx.Request.Headers[header].FirstOrDefault(), System.Text.Encoding.UTF8.GetString(bytes));
            proxy.Requests.Enqueue(seen);
            using var _ = ctx.RequestAborted.Register(() => seen.Aborted = true);
            using var request = new HttpRequestMessage(new HttpMethod(ctx.Request.Method), new Uri(target, ctx.Request.Path + ctx.Request.QueryString));
            if (bytes.Length > 0 || ctx.Request.Method == "POST") request.Content = new ByteArrayContent(bytes);
            foreach (var (k, v) in ctx.Request.Headers)
            {
                if (k is "Host" or "Content-Length" or "Transfer-Encoding") continue;
                if (!request.Headers.TryAddWithoutValidation(k, v.ToArray())) request.Content?.Headers.TryAddWithoutValidation(k, v.ToArray());
            }
            using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ctx.RequestAborted);
            ctx.Response.StatusCode = (int)response.StatusCode;
            foreach (var (k, v) in response.Headers.Concat(response.Content.Headers))
                if (k is not ("Transfer-Encoding" or "Content-Length")) ctx.Response.Headers[k] = v.ToArray();
            await using var stream = await response.Content.ReadAsStreamAsync(ctx.RequestAborted);
            var buffer = new byte[8192];
            int n;
            while ((n = await stream.ReadAsync(buffer, ctx.RequestAborted)) > 0)
            {
                await ctx.Response.Body.WriteAsync(buffer.AsMemory(0, n), ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            }
        });
        await app.StartAsync();
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
