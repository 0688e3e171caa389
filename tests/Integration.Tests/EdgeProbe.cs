using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Agents.Micro.Integration.Tests;

/// <summary>
/// One request of a data-driven edge test: method, URL, an optional body (bytes and content type; <c>null</c> type =
/// no Content-Type header; <c>Chunked</c> = no Content-Length), the statuses that are acceptable, and text the answer
/// must not contain.
/// </summary>
public sealed record EdgeProbe(string Name, HttpMethod Method, string Url, byte[]? Body = null, string? ContentType = "application/json",
    int[]? Expected = null, string[]? MustNotContain = null, bool Chunked = false)
{
    /// <summary>
    /// Refused by the HTTP server before any application code runs (Kestrel: a NUL in the path), so with a bare 400
    /// and no body: no middleware can give it the error body.
    /// </summary>
    public bool ServerRejects { get; init; }

    public static EdgeProbe Json(string name, HttpMethod method, string url, object body, params int[] expected) =>
        new(name, method, url, JsonSerializer.SerializeToUtf8Bytes(body), "application/json", expected);

    public static EdgeProbe Raw(string name, HttpMethod method, string url, string body, string? contentType, params int[] expected) =>
        new(name, method, url, Encoding.UTF8.GetBytes(body), contentType, expected);

    public HttpRequestMessage ToRequest()
    {
        var req = new HttpRequestMessage(Method, Url);
        if (Body is not null)
        {
            HttpContent content = Chunked ? new StreamContent(new NoLengthStream(Body)) : new ByteArrayContent(Body);
            if (ContentType is not null) content.Headers.ContentType = MediaTypeHeaderValue.Parse(ContentType);
            req.Content = content;
        }
        return req;
    }

    public override string ToString() => $"{Name} [{Method} {(Url.Length > 120 ? Url[..120] + "…" : Url)}]";

    /// <summary>What was wrong with the answer, or null when it is as expected.</summary>
    public static async Task<(int Status, string Body)> SendAsync(HttpClient http, EdgeProbe probe)
    {
        using var req = probe.ToRequest();
        try
        {
            using var resp = await http.SendAsync(req);
            return ((int)resp.StatusCode, (resp.Content.Headers.ContentType?.MediaType ?? "-") + "\n" + await resp.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException ex)
        {
            return (0, "connection error: " + ex.Message);
        }
    }

    /// <summary>Problems with an error answer: not JSON, not the one error shape, or a stack trace.</summary>
    public static string? ErrorShapeProblem(string typeAndBody)
    {
        var nl = typeAndBody.IndexOf('\n');
        var type = typeAndBody[..nl];
        var body = typeAndBody[(nl + 1)..];
        if (type != "application/json") return $"content type {type}: {Short(body)}";
        if (body.Contains("   at ") || body.Contains("Exception") || body.Contains("<html", StringComparison.OrdinalIgnoreCase)
            || body.Contains("LineNumber") || body.Contains("BytePositionInLine"))
            return "internals in the body: " + Short(body);
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("success", out var s) || s.ValueKind != JsonValueKind.False
                || !root.TryGetProperty("error", out var e) || e.ValueKind != JsonValueKind.String || e.GetString()!.Length == 0)
                return "not {success:false, error}: " + Short(body);
        }
        catch (JsonException)
        {
            return "not JSON: " + Short(body);
        }
        return null;
    }

    public static string Short(string s) => s.Length > 300 ? s[..300] + "…" : s;

    /// <summary>A stream without a known length, so the client sends the body chunked.</summary>
    private sealed class NoLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
