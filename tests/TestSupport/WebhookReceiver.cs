using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StandardWebhooks;

namespace Agents.Micro.TestSupport;

/// <summary>
/// A webhook receiver as a user would write one: it checks each request's Standard Webhooks signature (with the
/// StandardWebhooks library, and again by the specification's recipe written out here) and records what came. Its
/// <see cref="Answer"/> decides the response: 204 by default; a test makes it fail, redirect or hold the request.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SemaphoreSlim _arrived = new(0);

    public sealed record Received(string Id, string Timestamp, string Signature, string Body, bool Verified, string? VerifyError, DateTimeOffset At)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement;
        public string Type => Json.GetProperty("type").GetString()!;
        public JsonElement Data => Json.GetProperty("data");
    }

    public ConcurrentQueue<Received> Requests { get; } = new();
    public string Url { get; }

    /// <summary>The endpoint's secret (<c>whsec_…</c>), set once it is registered; requests before that count as unverified.</summary>
    public string? Secret { get; set; }

    /// <summary>The response to request number n (1-based): a status, or a redirect target.</summary>
    public Func<int, HttpContext, Task> Answer { get; set; } = (_, ctx) => { ctx.Response.StatusCode = 204; return Task.CompletedTask; };

    private WebhookReceiver(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public static async Task<WebhookReceiver> StartAsync(string path = "/hooks")
    {
        var port = TestEnv.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, $"http://127.0.0.1:{port}{path}");
        var count = 0;
        app.MapPost(path, async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(ctx.RequestAborted);
            var (ok, why) = receiver.Verify(body, ctx.Request.Headers);
            receiver.Requests.Enqueue(new Received(ctx.Request.Headers["webhook-id"].ToString(), ctx.Request.Headers["webhook-timestamp"].ToString(),
                ctx.Request.Headers["webhook-signature"].ToString(), body, ok, why, DateTimeOffset.UtcNow));
            receiver._arrived.Release();
            await receiver.Answer(Interlocked.Increment(ref count), ctx);
        });
        await app.StartAsync();
        return receiver;
    }

    private (bool, string?) Verify(string body, IHeaderDictionary headers)
    {
        if (Secret is null) return (false, "no secret yet");
        try
        {
            new StandardWebhook(Secret).Verify(body, headers);
        }
        catch (Exception ex)
        {
            return (false, "library: " + ex.Message);
        }
        // The specification's recipe: HMAC-SHA256 over "{id}.{timestamp}.{body}" with the base64 key after "whsec_".
        var key = Convert.FromBase64String(Secret["whsec_".Length..]);
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key,
            Encoding.UTF8.GetBytes($"{headers["webhook-id"]}.{headers["webhook-timestamp"]}.{body}")));
        return headers["webhook-signature"].ToString().Split(' ').Contains(expected) ? (true, null) : (false, "recipe: no matching v1 signature");
    }

    /// <summary>
    /// Registers this receiver as a webhook of <paramref name="client"/>'s user (with <paramref name="extra"/> fields
    /// such as <c>events</c> or <c>all_tasks</c>) and keeps the secret the answer shows once.
    /// </summary>
    public async Task<(string Id, string Secret)> RegisterAsync(HttpClient client, object? extra = null)
    {
        var fields = new Dictionary<string, JsonElement> { ["url"] = JsonSerializer.SerializeToElement(Url) };
        if (extra is not null)
            foreach (var p in JsonSerializer.SerializeToElement(extra).EnumerateObject()) fields[p.Name] = p.Value.Clone();
        var created = await client.PostJsonAsync("/api/v1/webhooks", fields, 201);
        Secret = created.GetProperty("secret").GetString()!;
        return (created.GetProperty("webhook").GetProperty("webhook_id").GetString()!, Secret);
    }

    /// <summary>Waits until at least <paramref name="count"/> requests matching <paramref name="match"/> came; they, oldest first.</summary>
    public async Task<IReadOnlyList<Received>> WaitForAsync(int count, Func<Received, bool>? match = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var found = Requests.Where(r => match?.Invoke(r) ?? true).ToList();
            if (found.Count >= count) return found;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"{found.Count} of {count} webhook requests came; all so far: {string.Join(" | ", Requests.Select(r => r.Body))}");
            await _arrived.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
