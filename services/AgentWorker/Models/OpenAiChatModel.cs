using System.ClientModel.Primitives;
using System.ClientModel;
using System.Globalization;
using System.Runtime.CompilerServices;
using OpenAI.Chat;
using OpenAI;
using Polly.Retry;
using Polly;

namespace Agents.Micro.AgentWorker.Models;

/// <summary>
/// Any OpenAI-compatible chat-completions endpoint (OpenAI, DeepSeek, Qwen/DashScope, vLLM, Ollama…) through the
/// OpenAI SDK, streamed. Transient failures (429, 408, 5xx, network, timeout) are retried with exponential backoff
/// and <c>Retry-After</c> — but only until the first update has been yielded: once text reached the user, a retry
/// would show it twice, so a failure after that point fails the call.
/// <para><see cref="ModelDefinition.TimeoutSeconds"/> bounds the wait for the response and every gap between two
/// chunks (an idle timeout): a long answer that keeps streaming is never cut off.</para>
/// </summary>
/// <param name="http">Optional HttpClient (tests, proxies).</param>
/// <param name="retryDelay">Base delay of the exponential backoff (default 1 s).</param>
public sealed class OpenAiChatModel(ModelDefinition definition, ILogger<OpenAiChatModel> log, HttpClient? http = null, TimeSpan? retryDelay = null)
    : IChatModel
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(60);

    private readonly Lazy<ChatClient> _client = new(() => CreateClient(definition, http));
    private readonly ResiliencePipeline _retry = CreateRetry(definition, log, retryDelay ?? TimeSpan.FromSeconds(1));

    public string Name => definition.Model;

    private TimeSpan Timeout => TimeSpan.FromSeconds(Math.Max(1, definition.TimeoutSeconds));

    public async IAsyncEnumerable<ModelUpdate> StreamAsync(ModelRequest request, [EnumeratorCancellation] CancellationToken ct)
    {
        var client = _client.Value;
        var messages = await OpenAiMessages.ToSdkAsync(definition, request, ct);
        var activity = Activity.Current;
        activity?.SetTag("gen_ai.system", "openai");
        activity?.SetTag("gen_ai.operation.name", "chat");
        activity?.SetTag("gen_ai.request.model", definition.Model);
        if (request.Temperature is { } t) activity?.SetTag("gen_ai.request.temperature", t);

        var attempts = 0;
        Opened opened;
        try
        {
            opened = await _retry.ExecuteAsync(async token =>
            {
                attempts++;
                return await OpenAsync(client, messages, request, token);
            }, ct);
        }
        catch (Exception ex) when (Translate(ex, ct, attempts, midStream: false) is { } clear)
        {
            throw clear;
        }

        await using var idle = opened.Idle;
        await using var stream = opened.Stream;
        var assembler = opened.Assembler;
        foreach (var update in opened.First) yield return update;
        var ended = opened.Ended;
        while (!ended)
        {
            List<ModelUpdate> updates;
            try
            {
                idle.Restart();
                if (!await stream.MoveNextAsync())
                {
                    ended = true;
                    break;
                }
                updates = assembler.Accept(stream.Current);
            }
            catch (Exception ex) when (Translate(ex, ct, attempts, midStream: true) is { } clear)
            {
                throw clear;
            }
            foreach (var update in updates) yield return update;
        }

        activity?.SetTag("gen_ai.response.model", assembler.ResponseModel);
        activity?.SetTag("gen_ai.response.finish_reasons", string.Join(",", assembler.FinishReasons));
        if (attempts > 1) activity?.SetTag("agents.model.attempts", attempts);
        if (assembler.FinishReasons.Any(r => r is "length" or "content_filter"))
            log.LogWarning("model {Model}: the answer was cut short by the provider (finish_reason {Reason})", definition.Model, string.Join(",", assembler.FinishReasons));
        foreach (var update in assembler.Finish()) yield return update;
    }

    /// <summary>
    /// Sends the request and reads until there is something to yield (or the stream ends). Everything up to here may
    /// be retried: nothing has left this class yet. Tool-call-only turns are read completely inside the retry.
    /// </summary>
    private async ValueTask<Opened> OpenAsync(ChatClient client, List<OpenAI.Chat.ChatMessage> messages, ModelRequest request, CancellationToken ct)
    {
        var idle = new IdleTimeout(Timeout, ct);
        var assembler = new OpenAiTurnAssembler(definition.Model);
        IAsyncEnumerator<StreamingChatCompletionUpdate>? stream = null;
        try
        {
            // The SDK fills the options with the messages and stream settings, so every attempt gets its own.
            var options = OpenAiMessages.Options(definition, request);
            stream = client.CompleteChatStreamingAsync(messages, options, idle.Token).GetAsyncEnumerator(idle.Token);
            var first = new List<ModelUpdate>();
            while (first.Count == 0)
            {
                idle.Restart();
                if (!await stream.MoveNextAsync()) return new Opened(stream, idle, assembler, first, Ended: true);
                first.AddRange(assembler.Accept(stream.Current));
            }
            return new Opened(stream, idle, assembler, first, Ended: false);
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
        {
            await DisposeAsync(stream, idle);
            // Our idle timer or the SDK's network timeout fired, not the caller: a timeout, which may be retried.
            throw new TimeoutException($"no response within {Timeout.TotalSeconds:0.#} s", ex);
        }
        catch
        {
            await DisposeAsync(stream, idle);
            throw;
        }
    }

    private static async ValueTask DisposeAsync(IAsyncEnumerator<StreamingChatCompletionUpdate>? stream, IdleTimeout idle)
    {
        try
        {
            if (stream is not null) await stream.DisposeAsync();
        }
        catch (Exception)
        {
            // Disposing a broken stream may throw again; the first error is the one that matters.
        }
        await idle.DisposeAsync();
    }

    /// <summary>A clear exception for a failed call, or null to let the caller's own cancellation through unchanged.</summary>
    private ModelCallException? Translate(Exception ex, CancellationToken ct, int attempts, bool midStream)
    {
        if (ex is OperationCanceledException && ct.IsCancellationRequested) return null;
        if (ex is ModelCallException mce) return mce;
        var where = string.IsNullOrWhiteSpace(definition.Endpoint) ? "api.openai.com" : definition.Endpoint;
        var tries = attempts > 1 ? $" (after {attempts} attempts)" : "";
        var prefix = $"model '{definition.Model}' at {where}";
        return ex switch
        {
            ClientResultException { Status: > 0 } cre => new ModelCallException($"{prefix} failed{tries}: {FirstLines(cre.Message)}", cre) { Status = cre.Status },
            ClientResultException cre => new ModelCallException($"{prefix} could not be reached{tries}: {FirstLines(cre.InnerException?.Message ?? cre.Message)}", cre),
            TimeoutException or OperationCanceledException => new ModelCallException(
                $"{prefix} timed out{tries}: no data for {Timeout.TotalSeconds:0.#} s{(midStream ? " in the middle of the stream" : "")}", ex),
            JsonException or FormatException or InvalidOperationException or ArgumentException => new ModelCallException(
                $"{prefix} sent a malformed stream: {FirstLines(ex.Message)}", ex),
            HttpRequestException or IOException => new ModelCallException(
                $"{prefix}: the connection failed{(midStream ? " in the middle of the stream" : "")}{tries}: {FirstLines(ex.Message)}", ex),
            _ => new ModelCallException($"{prefix} failed{tries}: {ex.GetType().Name}: {FirstLines(ex.Message)}", ex),
        };
    }

    private static string FirstLines(string message)
    {
        var text = message.ReplaceLineEndings(" ").Trim();
        while (text.Contains("  ", StringComparison.Ordinal)) text = text.Replace("  ", " ", StringComparison.Ordinal);
        return text.Length <= 500 ? text : text[..500] + "…";
    }

    private static ChatClient CreateClient(ModelDefinition definition, HttpClient? http)
    {
        var key = "no-key"; // local servers (vLLM, Ollama) ignore the key, but the SDK wants one
        if (!string.IsNullOrWhiteSpace(definition.ApiKeyEnv))
        {
            key = Environment.GetEnvironmentVariable(definition.ApiKeyEnv) ?? "";
            if (string.IsNullOrWhiteSpace(key))
                throw new ModelCallException($"model '{definition.Model}': its API key environment variable '{definition.ApiKeyEnv}' is not set");
        }
        var options = new OpenAIClientOptions
        {
            // Retries are ours (they must stop once output was yielded); the SDK's would retry blind.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            // The idle timeout is ours too; the SDK's network timeout is only a backstop behind it.
            NetworkTimeout = TimeSpan.FromSeconds(Math.Max(1, definition.TimeoutSeconds) + 5),
        };
        if (!string.IsNullOrWhiteSpace(definition.Endpoint))
        {
            if (!Uri.TryCreate(definition.Endpoint.TrimEnd('/'), UriKind.Absolute, out var endpoint))
                throw new ModelCallException($"model '{definition.Model}': endpoint '{definition.Endpoint}' is not an absolute URL");
            options.Endpoint = endpoint;
        }
        if (http is not null) options.Transport = new HttpClientPipelineTransport(http);
        return new ChatClient(definition.Model, new ApiKeyCredential(key), options);
    }

    private static ResiliencePipeline CreateRetry(ModelDefinition definition, ILogger log, TimeSpan baseDelay)
    {
        if (definition.MaxRetries <= 0) return ResiliencePipeline.Empty;
        return new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = definition.MaxRetries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = baseDelay,
            MaxDelay = MaxRetryDelay,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && IsTransient(ex)),
            DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Exception)),
            OnRetry = args =>
            {
                log.LogWarning("model {Model}: attempt {Attempt} failed ({Error}); retrying in {Delay} ms",
                    definition.Model, args.AttemptNumber + 1, args.Outcome.Exception?.Message.ReplaceLineEndings(" "), (int)args.RetryDelay.TotalMilliseconds);
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    private static bool IsTransient(Exception ex) => ex switch
    {
        ClientResultException { Status: 0 } => true, // no response at all: connection refused, reset, DNS
        ClientResultException { Status: 408 or 409 or 429 or >= 500 } => true,
        HttpRequestException or IOException or TimeoutException => true,
        _ => false,
    };

    /// <summary>The provider's own hint (<c>retry-after-ms</c> or <c>Retry-After</c> in seconds or as a date), capped.</summary>
    private static TimeSpan? RetryAfter(Exception? ex)
    {
        if (ex is not ClientResultException cre || cre.GetRawResponse() is not { } response) return null;
        TimeSpan? delay = null;
        if (response.Headers.TryGetValue("retry-after-ms", out var ms) && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var msValue))
            delay = TimeSpan.FromMilliseconds(msValue);
        else if (response.Headers.TryGetValue("Retry-After", out var ra) && ra is not null)
        {
            if (double.TryParse(ra, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)) delay = TimeSpan.FromSeconds(seconds);
            else if (DateTimeOffset.TryParse(ra, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)) delay = at - DateTimeOffset.UtcNow;
        }
        if (delay is null) return null;
        return delay < TimeSpan.Zero ? TimeSpan.Zero : delay > MaxRetryDelay ? MaxRetryDelay : delay;
    }

    private sealed record Opened(IAsyncEnumerator<StreamingChatCompletionUpdate> Stream, IdleTimeout Idle,
        OpenAiTurnAssembler Assembler, List<ModelUpdate> First, bool Ended);

    /// <summary>A token that fires when the caller cancels or when the provider stays silent too long.</summary>
    private sealed class IdleTimeout(TimeSpan timeout, CancellationToken outer) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(outer);

        public CancellationToken Token => _cts.Token;

        public void Restart()
        {
            // CancelAfter re-arms the timer: the budget is per wait, not for the whole answer.
            if (!_cts.IsCancellationRequested) _cts.CancelAfter(timeout);
        }

        public ValueTask DisposeAsync()
        {
            _cts.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
