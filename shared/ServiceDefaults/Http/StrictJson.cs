using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;

namespace Agents.Micro.ServiceDefaults.Http;

/// <summary>
/// Binds a JSON request body to its typed request record, the one place an endpoint's body is declared: the record's
/// properties are the allowed fields (snake_case), their types the accepted JSON types, and their data annotations
/// (<c>[Required]</c>, <c>[StringLength]</c>, <c>[Range]</c>, <c>[MaxLength]</c>, <c>[AllowedValues]</c>) the rules. The same
/// record describes the body in the OpenAPI document. Every refusal is one sentence a client can act on ("unknown field
/// 'foo'", "'message' must be a string", "'max_iterations' must be between 1 and 50"), never the serializer's internals:
/// unknown and duplicate fields, wrong types, malformed JSON, bad UTF-8 and NUL characters are all refused.
/// </summary>
/// <remarks>
/// Hand-written rather than ASP.NET Core's body binding plus <c>AddValidation()</c>: that pipeline answers a wrong type or
/// a duplicate field with its own 400 shape and the serializer's message, and cannot tell a field sent as <c>null</c>
/// from one left out in the error it gives. The checks themselves are the framework's (System.Text.Json's parser and
/// reader, the data annotations' <c>IsValid</c>); only the wording is ours.
/// </remarks>
public static class StrictJson
{
    public static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false, MaxDepth = 32 };

    /// <summary>The APIs' JSON conventions (snake_case), reading records whose optional members are nullable.</summary>
    private static readonly JsonSerializerOptions Options = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        ServiceDefaultsExtensions.ConfigureJson(o);
        o.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
        o.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }

    /// <summary>
    /// Reads the body as <typeparamref name="T"/>. Returns the value, or the error to answer with (400, or 415 for a
    /// body that is not JSON); nothing else is read from the request. An absent body is an empty object when
    /// <paramref name="allowEmpty"/>.
    /// </summary>
    public static async Task<(T? Value, JsonHttpResult<Errors.ErrorBody>? Error)> ReadAsync<T>(HttpRequest request, bool allowEmpty = false) where T : class
    {
        var (root, status, error) = await ParseAsync(request, allowEmpty);
        if (root is not { } body) return (null, Errors.ApiError.Status(status, error!));
        var info = Options.GetTypeInfo(typeof(T));
        var allowed = info.Properties.Select(p => p.Name).ToList();
        foreach (var p in body.EnumerateObject())
            if (!allowed.Contains(p.Name, StringComparer.Ordinal))
                return (null, Errors.ApiError.BadRequest($"unknown field '{Truncate(p.Name)}' (allowed: {string.Join(", ", allowed)})"));
        // The serializer puts a JSON null into a list of strings without complaint: a list's items are checked here.
        foreach (var property in info.Properties.Where(p => p.PropertyType != typeof(string) && p.PropertyType.IsAssignableTo(typeof(IEnumerable<string>))))
            if (body.TryGetProperty(property.Name, out var list) && list.ValueKind == JsonValueKind.Array
                && list.EnumerateArray().Any(item => item.ValueKind != JsonValueKind.String))
                return (null, Errors.ApiError.BadRequest($"'{property.Name}' must be an array of strings"));
        T value;
        try
        {
            value = body.Deserialize<T>(Options)!;
        }
        catch (JsonException ex)
        {
            var field = FieldOf(ex.Path);
            var property = info.Properties.FirstOrDefault(p => p.Name == field);
            return (null, Errors.ApiError.BadRequest(property is null ? "malformed JSON: " + Short(ex.Message) : $"'{field}' must be {Kind(property.PropertyType)}"));
        }
        foreach (var property in info.Properties)
            if (Validate(property, property.Get?.Invoke(value)) is { } invalid) return (null, Errors.ApiError.BadRequest(invalid));
        return (value, null);
    }

    /// <summary>The first rule a member's value breaks, in the APIs' words.</summary>
    private static string? Validate(System.Text.Json.Serialization.Metadata.JsonPropertyInfo property, object? value)
    {
        var name = property.Name;
        foreach (var rule in property.AttributeProvider?.GetCustomAttributes(typeof(ValidationAttribute), true).Cast<ValidationAttribute>() ?? [])
        {
            if (rule is RequiredAttribute)
            {
                if (value is null) return $"'{name}' is required";
                if (value is string text && string.IsNullOrWhiteSpace(text)) return $"'{name}' must not be empty";
                continue;
            }
            if (value is null || rule.IsValid(value)) continue;
            return rule switch
            {
                StringLengthAttribute l => $"'{name}' is longer than {l.MaximumLength} characters",
                RangeAttribute r => $"'{name}' must be between {r.Minimum} and {r.Maximum}",
                MaxLengthAttribute m => $"'{name}' may hold at most {m.Length} items",
                AllowedValuesAttribute a => $"'{name}' must be one of: {string.Join(", ", a.Values.Where(v => v is not null))}",
                _ => rule.FormatErrorMessage(name),
            };
        }
        return null;
    }

    /// <summary>"$.images[2]" → "images": the top-level field a deserialization error is in.</summary>
    private static string FieldOf(string? path)
    {
        if (path is null || !path.StartsWith("$.", StringComparison.Ordinal)) return "";
        var rest = path[2..];
        var end = rest.IndexOfAny(['.', '[']);
        return end < 0 ? rest : rest[..end];
    }

    private static string Kind(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t == typeof(string)) return "a string";
        if (t == typeof(bool)) return "true or false";
        if (t == typeof(int) || t == typeof(long)) return "an integer";
        if (t.IsAssignableTo(typeof(System.Collections.IDictionary)) || t.Name.StartsWith("Dictionary", StringComparison.Ordinal)) return "an object";
        if (t.IsAssignableTo(typeof(IEnumerable<string>))) return "an array of strings";
        return "a valid value";
    }

    /// <summary>The body as a JSON object, after every check that does not depend on its shape.</summary>
    private static async Task<(JsonElement? Root, int Status, string? Error)> ParseAsync(HttpRequest request, bool allowEmpty)
    {
        var hasBody = request.ContentLength is > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);
        if (!hasBody)
        {
            if (allowEmpty) return (JsonDocument.Parse("{}").RootElement, 200, null);
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
            return (doc.RootElement.Clone(), 200, null);
        }
        catch (JsonException ex) when (DuplicateName(ex.Message) is { } name)
        {
            return (null, 400, $"duplicate field '{Truncate(name)}': each field may appear once");
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

    /// <summary>The field a duplicate-property error names (the parser gives neither a line nor a byte for it).</summary>
    private static string? DuplicateName(string message)
    {
        const string marker = "Duplicate property '";
        var at = message.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0) return null;
        var start = at + marker.Length;
        var end = message.IndexOf('\'', start);
        return end > start ? message[start..end] : null;
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

    private static string Truncate(string s) => s.Length > 64 ? s[..64] + "…" : s;
}
