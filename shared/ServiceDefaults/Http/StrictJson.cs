using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Agents.Micro.ServiceDefaults.Http;

/// <summary>
/// Reads a JSON object body and its fields with the errors a client can act on ("unknown field 'foo'",
/// "'message' must be a string") instead of serializer internals. Unknown fields, duplicate fields, wrong types,
/// malformed JSON and bad UTF-8 are all refused.
/// </summary>
public sealed class StrictJson
{
    private readonly JsonElement _root;
    private readonly HashSet<string> _allowed;

    private StrictJson(JsonElement root, IEnumerable<string> allowed)
    {
        _root = root;
        _allowed = new HashSet<string>(allowed, StringComparer.Ordinal);
    }

    /// <summary>The first problem found, or null.</summary>
    public string? Error { get; private set; }

    public static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false, MaxDepth = 32 };

    /// <summary>Parses the request body. Returns (null, status, error) when it is not a JSON object.</summary>
    public static async Task<(StrictJson? Body, int Status, string? Error)> ReadAsync(HttpRequest request, IEnumerable<string> allowed, bool allowEmpty = false)
    {
        var hasBody = request.ContentLength is > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
        if (!hasBody)
        {
            if (allowEmpty) return (new StrictJson(JsonDocument.Parse("{}").RootElement, allowed), 200, null);
            return (null, 400, "request body is required (a JSON object)");
        }
        if (!request.HasJsonContentType())
            return (null, 415, "Content-Type must be application/json");
        // The body is read as UTF-8 whatever the header says; a body declared in another charset would be misread.
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var type) && type.Charset is { Length: > 0 } charset
            && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
            return (null, 415, "Content-Type charset must be utf-8");
        try
        {
            using var doc = await JsonDocument.ParseAsync(request.Body, DocumentOptions, request.HttpContext.RequestAborted);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return (null, 400, "request body must be a JSON object");
            // The parser leaves strings undecoded: bad UTF-8 or a lone surrogate would only fail (as a 500) when a
            // handler reads the field, and a NUL would fail in the database. Refuse both here, for every string.
            if (BadText(doc.RootElement) is { } badText) return (null, 400, badText);
            var body = new StrictJson(doc.RootElement.Clone(), allowed);
            body.CheckUnknown();
            return (body, 200, null);
        }
        catch (JsonException ex)
        {
            var at = ex.LineNumber is { } line && ex.BytePositionInLine is { } pos ? $" at line {line + 1}, byte {pos + 1}" : "";
            return (null, 400, $"malformed JSON{at}: " + Short(ex.Message));
        }
        catch (ArgumentException ex)
        {
            return (null, 400, "malformed JSON: " + Short(ex.Message));
        }
    }

    private static string? BadText(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    if (TextProblem(() => p.Name) is { } name) return name;
                    if (BadText(p.Value) is { } inner) return inner;
                }
                return null;
            case JsonValueKind.Array:
                foreach (var item in e.EnumerateArray())
                    if (BadText(item) is { } inner) return inner;
                return null;
            case JsonValueKind.String:
                return TextProblem(e.GetString);
            default:
                return null;
        }
    }

    private static string? TextProblem(Func<string?> read)
    {
        try
        {
            return read()?.Contains('\0') == true ? "strings must not contain NUL characters (\\u0000)" : null;
        }
        catch (InvalidOperationException)
        {
            return "request body is not valid UTF-8 text (bad bytes or an unpaired surrogate)";
        }
    }

    /// <summary>The parser's sentence without its internals (" Path: $ | LineNumber: 0 | BytePositionInLine: 5.").</summary>
    private static string Short(string m)
    {
        foreach (var marker in new[] { " Path:", " LineNumber:" })
        {
            var cut = m.IndexOf(marker, StringComparison.Ordinal);
            if (cut > 0) m = m[..cut];
        }
        return m.Length > 200 ? m[..200] : m;
    }

    private void CheckUnknown()
    {
        foreach (var p in _root.EnumerateObject())
        {
            if (!_allowed.Contains(p.Name))
            {
                Fail($"unknown field '{Truncate(p.Name)}' (allowed: {string.Join(", ", _allowed)})");
                return;
            }
        }
    }

    private static string Truncate(string s) => s.Length > 64 ? s[..64] + "…" : s;

    private void Fail(string error) => Error ??= error;

    private JsonElement? Get(string name) =>
        _root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public bool Has(string name) => Get(name) is not null;

    public string? String(string name, bool required = false, int maxLength = 100_000)
    {
        var v = Get(name);
        if (v is null)
        {
            if (required) Fail($"'{name}' is required");
            return null;
        }
        if (v.Value.ValueKind != JsonValueKind.String)
        {
            Fail($"'{name}' must be a string");
            return null;
        }
        var s = v.Value.GetString()!;
        if (s.Length > maxLength) Fail($"'{name}' is longer than {maxLength} characters");
        if (required && string.IsNullOrWhiteSpace(s)) Fail($"'{name}' must not be empty");
        return s;
    }

    public bool? Bool(string name)
    {
        var v = Get(name);
        if (v is null) return null;
        if (v.Value.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.Value.GetBoolean();
        Fail($"'{name}' must be true or false");
        return null;
    }

    public int? Int(string name, int min, int max)
    {
        var v = Get(name);
        if (v is null) return null;
        if (v.Value.ValueKind != JsonValueKind.Number || !v.Value.TryGetInt32(out var i))
        {
            Fail($"'{name}' must be an integer");
            return null;
        }
        if (i < min || i > max)
        {
            Fail($"'{name}' must be between {min} and {max}");
            return null;
        }
        return i;
    }

    public List<string>? StringArray(string name, int maxItems)
    {
        var v = Get(name);
        if (v is null) return null;
        if (v.Value.ValueKind != JsonValueKind.Array)
        {
            Fail($"'{name}' must be an array of strings");
            return null;
        }
        var list = new List<string>();
        foreach (var item in v.Value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                Fail($"'{name}' must be an array of strings");
                return null;
            }
            list.Add(item.GetString()!);
        }
        if (list.Count > maxItems) Fail($"'{name}' may hold at most {maxItems} items");
        return list;
    }

    public JsonElement? Object(string name)
    {
        var v = Get(name);
        if (v is null) return null;
        if (v.Value.ValueKind != JsonValueKind.Object)
        {
            Fail($"'{name}' must be an object");
            return null;
        }
        return v;
    }
}
