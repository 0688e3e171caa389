using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using System.Text.Json;

namespace Agents.Micro.MemoryService.Search;

/// <summary>Calls an OpenAI-compatible <c>POST {endpoint}/embeddings</c>; returns unit-length vectors, or null on any failure.</summary>
public sealed class EmbeddingClient(HttpClient http, IOptions<MemoryOptions> options, ILogger<EmbeddingClient> log)
{
    private EmbeddingOptions Options => options.Value.Embeddings;

    public bool Enabled => Options.Enabled;

    public async Task<IReadOnlyList<float[]>?> EmbedAsync(IReadOnlyList<string> inputs, CancellationToken ct)
    {
        if (!Enabled || inputs.Count == 0) return null;
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(TimeSpan.FromSeconds(Options.TimeoutSeconds));
            using var request = new HttpRequestMessage(HttpMethod.Post, Options.Endpoint!.TrimEnd('/') + "/embeddings")
            {
                Content = JsonContent.Create(new EmbeddingRequest(Options.Model, inputs)),
            };
            if (Options.ApiKeyEnv is { Length: > 0 } env && Environment.GetEnvironmentVariable(env) is { Length: > 0 } key)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await http.SendAsync(request, cts.Token);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadFromJsonAsync<EmbeddingResponse>(cts.Token);
            if (body?.Data is not { Count: > 0 } data || data.Count != inputs.Count)
                throw new InvalidDataException("embeddings response has the wrong number of vectors");
            return data.OrderBy(d => d.Index).Select(d => Normalize(d.Embedding)).ToList();
        }
        // Polly's ExecutionRejectedException: the resilience pipeline's timeout or open circuit breaker.
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or InvalidDataException
                                       or Polly.ExecutionRejectedException && !ct.IsCancellationRequested)
        {
            log.LogWarning("embeddings endpoint failed ({Error}); using BM25 only", ex.Message);
            return null;
        }
    }

    /// <summary>Unit length, so that cosine similarity is a dot product.</summary>
    public static float[] Normalize(float[] v)
    {
        double sum = 0;
        foreach (var x in v) sum += x * x;
        var n = (float)Math.Sqrt(sum);
        if (n == 0) return v;
        var r = new float[v.Length];
        for (var i = 0; i < v.Length; i++) r[i] = v[i] / n;
        return r;
    }

    /// <summary>Cosine similarity of two unit vectors; 0 when their dimensions differ (the model was changed).</summary>
    public static double Dot(float[] a, float[] b)
    {
        if (a.Length != b.Length) return 0;
        double sum = 0;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    public static byte[] ToBytes(float[] v)
    {
        var bytes = new byte[v.Length * sizeof(float)];
        Buffer.BlockCopy(v, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    public static float[] FromBytes(byte[] bytes)
    {
        var v = new float[bytes.Length / sizeof(float)];
        Buffer.BlockCopy(bytes, 0, v, 0, v.Length * sizeof(float));
        return v;
    }

    private sealed record EmbeddingRequest([property: JsonPropertyName("model")] string Model, [property: JsonPropertyName("input")] IReadOnlyList<string> Input);

    private sealed record EmbeddingResponse([property: JsonPropertyName("data")] List<EmbeddingData>? Data);

    private sealed record EmbeddingData([property: JsonPropertyName("index")] int Index, [property: JsonPropertyName("embedding")] float[] Embedding);
}
