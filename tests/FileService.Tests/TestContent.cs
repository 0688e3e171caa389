using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Agents.Micro.FileService.Tests;

/// <summary>Builders for upload forms (well-formed and not) and readers for the API's answers.</summary>
public static class TestContent
{
    public static byte[] Bytes(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>A form with the file part, and the optional fields before or after it.</summary>
    public static MultipartFormDataContent Form(HttpContent file, string? partFileName, string? filename = null, string? dir = null, bool fieldsFirst = true)
    {
        var form = new MultipartFormDataContent("----agents-test-" + Guid.NewGuid().ToString("N"));
        void Fields()
        {
            if (dir is not null) form.Add(new StringContent(dir, Encoding.UTF8), "dir");
            if (filename is not null) form.Add(new StringContent(filename, Encoding.UTF8), "filename");
        }
        if (fieldsFirst) Fields();
        if (partFileName is null) form.Add(file, "file");
        else form.Add(file, "file", partFileName);
        if (!fieldsFirst) Fields();
        return form;
    }

    public static MultipartFormDataContent Form(byte[] content, string? partFileName, string? filename = null, string? dir = null, bool fieldsFirst = true) =>
        Form(new ByteArrayContent(content), partFileName, filename, dir, fieldsFirst);

    /// <summary>A hand-written multipart body, for malformed and browser-style forms.</summary>
    public static HttpContent Raw(string body, string contentType = "multipart/form-data; boundary=XyZ")
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body.Replace("\n", "\r\n")));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new Xunit.Sdk.XunitException($"expected JSON, got {(int)response.StatusCode}: {text}");
        }
    }

    /// <summary>Asserts the status and the error shape <c>{"success": false, "error": "…"}</c>; returns the message.</summary>
    public static async Task<string> AssertErrorAsync(HttpResponseMessage response, int status)
    {
        var json = await JsonAsync(response);
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {json}");
        Assert.False(json.GetProperty("success").GetBoolean());
        var error = json.GetProperty("error").GetString();
        Assert.False(string.IsNullOrWhiteSpace(error));
        return error!;
    }
}
