using System.Diagnostics;
using System.Text;
using Agents.Micro.Storage.Webhooks;
using StandardWebhooks;

namespace Agents.Micro.TaskApi.Webhooks;

/// <summary>
/// Sends due webhook deliveries, signed per Standard Webhooks (<c>webhook-id</c>, <c>webhook-timestamp</c>,
/// <c>webhook-signature</c>: HMAC-SHA256 with the endpoint's secret, by the StandardWebhooks library). A non-2xx answer,
/// a timeout or a refused connection is retried with doubling waits until the retry window closes; each attempt is
/// logged. Deliveries live in the database, written by the task transitions themselves, so they survive any restart
/// and every TaskApi instance can send them (a claim keeps two from sending one at once). Woken by a task's last event
/// or interrupt (over RabbitMQ, <see cref="Nudge"/>), at the next retry's time, and at the latest every
/// <c>Webhooks:SweepSeconds</c>; an idle instance does not poll the database.
/// </summary>
public sealed class WebhookSender(
    WebhookStore store, ITaskStore tasks, IHttpClientFactory http, IOptions<WebhookOptions> options, ILogger<WebhookSender> log)
    : BackgroundService
{
    public const string HttpClientName = "webhooks";
    private readonly SemaphoreSlim _wake = new(0, 1);
    private double _endpointsCheckedAt = double.MinValue;
    private bool _anyEndpoints;

    /// <summary>An endpoint was registered here: deliveries may come from now on.</summary>
    public void EndpointAdded()
    {
        _anyEndpoints = true;
        _endpointsCheckedAt = UnixTime.Now();
    }

    /// <summary>
    /// Whether any webhook endpoint exists, read at most every 10 s: a deployment that uses no webhooks pays nothing for
    /// the wake-ups every ending task sends (measured: about 5 transactions per task otherwise).
    /// </summary>
    private async Task<bool> AnyEndpointsAsync(CancellationToken ct)
    {
        var now = UnixTime.Now();
        if (now - _endpointsCheckedAt >= 10)
        {
            _anyEndpoints = await store.AnyEndpointsAsync(ct);
            _endpointsCheckedAt = now;
        }
        return _anyEndpoints;
    }

    /// <summary>A task reached an end or an interrupt: look for deliveries now.</summary>
    public void Nudge()
    {
        if (_wake.CurrentCount == 0)
        {
            try { _wake.Release(); } catch (SemaphoreFullException) { }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.SendEnabled) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            var sleep = o.SweepSeconds;
            try
            {
                if (!await AnyEndpointsAsync(stoppingToken))
                {
                    await _wake.WaitAsync(TimeSpan.FromSeconds(Math.Min(o.SweepSeconds, 10)), stoppingToken);
                    continue;
                }
                while (await SendDueAsync(stoppingToken) > 0) { }
                // Until the next retry is due (or a claim another instance holds runs out), if that comes before the sweep.
                if (await store.NextDueAsync(stoppingToken) is { } due)
                    sleep = Math.Clamp(due - UnixTime.Now(), 0.05, o.SweepSeconds);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogWarning(ex, "webhook deliveries could not be read; trying again");
                sleep = Math.Min(sleep, 5);
            }
            try
            {
                await _wake.WaitAsync(TimeSpan.FromSeconds(sleep), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Sends one batch of due deliveries; how many there were.</summary>
    public async Task<int> SendDueAsync(CancellationToken ct)
    {
        var o = options.Value;
        var due = await store.ClaimDueAsync(UnixTime.Now(), o.MaxConcurrentSends * 2, o.TimeoutSeconds * 3, ct);
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = o.MaxConcurrentSends, CancellationToken = ct },
            async (d, token) => await SendOneAsync(d, token));
        return due.Count;
    }

    private async Task SendOneAsync(WebhookDelivery d, CancellationToken ct)
    {
        var endpoint = await store.GetEndpointByIdAsync(d.EndpointId, ct);
        if (endpoint is null) return; // deleted meanwhile: its deliveries went with it
        // The body is fixed before the first attempt goes out: a retry after a crash sends the same bytes.
        var payload = d.Payload ?? await store.FixPayloadAsync(d.Id, await PayloadAsync(d, ct), ct);
        var attempt = d.Attempts + 1;
        var started = Stopwatch.GetTimestamp();
        int? status = null;
        string? error = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url);
            var now = DateTimeOffset.UtcNow;
            var webhookId = "msg_" + d.Id;
            request.Content = new StringContent(payload, Encoding.UTF8, "application/json");
            request.Headers.Add("webhook-id", webhookId);
            request.Headers.Add("webhook-timestamp", now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add("webhook-signature", new StandardWebhook(endpoint.Secret).Sign(webhookId, now, payload));
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(TimeSpan.FromSeconds(options.Value.TimeoutSeconds));
            using var response = await http.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            status = (int)response.StatusCode;
            if (status is >= 300 and < 400) error = "redirects are not followed: the endpoint's URL must answer itself";
            else if (status is < 200 or >= 300) error = $"the receiver answered {status}";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            error = $"no answer within {options.Value.TimeoutSeconds:0.#} s";
        }
        catch (HttpRequestException ex)
        {
            error = ex.InnerException is WebhookRefusedException refused ? "refused: " + refused.Message : "could not send: " + ex.Message;
        }
        var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var at = UnixTime.Now();
        var outcome = error is null
            ? new AttemptOutcome(new WebhookAttempt(d.Id, attempt, at, status, latency, null), DeliveryStatus.Delivered, null)
            : Retry(d, attempt, at, status, latency, error);
        await store.RecordAttemptAsync(d, payload, outcome, CancellationToken.None);
        if (error is not null)
            log.LogInformation("webhook {DeliveryId} to endpoint {EndpointId}: attempt {Attempt} failed ({Error}); {Next}", d.Id, d.EndpointId, attempt, error,
                outcome.NextAttemptAt is { } next ? $"next in {next - at:0.#} s" : "given up");
    }

    /// <summary>The next attempt after <paramref name="attempt"/> failed: the first wait doubled per attempt, capped; none past the window.</summary>
    private AttemptOutcome Retry(WebhookDelivery d, long attempt, double at, int? status, double latency, string error)
    {
        var o = options.Value;
        var wait = Math.Min(o.FirstRetrySeconds * Math.Pow(2, Math.Clamp(attempt - d.WindowFirstAttempt, 0, 30)), o.MaxRetryIntervalSeconds);
        wait *= 0.9 + Random.Shared.NextDouble() * 0.2; // spread retries of many deliveries that failed together
        var next = at + wait;
        var giveUp = next > d.WindowStart + o.RetryHours * 3600;
        return new AttemptOutcome(new WebhookAttempt(d.Id, attempt, at, status, latency, error),
            giveUp ? DeliveryStatus.Failed : DeliveryStatus.Pending, giveUp ? null : next);
    }

    /// <summary>The body: Standard Webhooks' <c>type</c>, <c>timestamp</c> and <c>data</c> (the task as both APIs show it).</summary>
    private async Task<string> PayloadAsync(WebhookDelivery d, CancellationToken ct)
    {
        var task = await tasks.GetTaskAsync(d.TaskId, ct);
        var publicId = task?.PublicId ?? d.TaskId;
        var baseUrl = options.Value.PublicBaseUrl.TrimEnd('/');
        var api = task is null ? "v1" : TaskOptions.FromJson(task.Options).Api;
        var logPath = api == "agent" && task is not null
            ? $"/agent/status/{Uri.EscapeDataString(task.UserId)}/{Uri.EscapeDataString(task.ConversationId)}/{Uri.EscapeDataString(publicId)}"
            : $"/api/v1/tasks/{Uri.EscapeDataString(publicId)}";
        var body = new WebhookPayload(d.EventType, DateTimeOffset.FromUnixTimeMilliseconds((long)(d.CreatedAt * 1000)).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'"),
            new WebhookTaskData(publicId, task?.ConversationId, WebhookEvents.StatusOf(d.EventType), api,
                d.EventType == WebhookEvents.Failed ? task?.Error : null, d.EventIdx, baseUrl + logPath));
        return JsonSerializer.Serialize(body, WebhookPayload.Json);
    }
}

public sealed record WebhookPayload(string Type, string Timestamp, WebhookTaskData Data)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}

/// <summary>
/// <c>event_index</c> is the announced event's offset in the task's log; <c>log_url</c> polls it (with the caller's own
/// token: the payload carries no credentials and no content).
/// </summary>
public sealed record WebhookTaskData(string TaskId, string? ConversationId, string Status, string Api, string? Error, long EventIndex, string LogUrl);
