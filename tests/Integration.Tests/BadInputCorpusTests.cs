using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>
/// A corpus of bad requests through the gateway against every endpoint that takes a body (and hostile queries against
/// the ones that read a query): each answer is a 4xx in the one error shape, never a 500, HTML or a stack trace, and the
/// user's conversations, tasks, events, memories and files are exactly as many afterwards as before.
/// </summary>
[Collection(EdgeCollection.Name)]
public sealed class BadInputCorpusTests(EdgeFixture edge)
{
    /// <summary>An endpoint with a body that would be accepted, from which the bad variants are derived.</summary>
    private sealed record BodyEndpoint(string Url, JsonObject Valid, bool EmptyBodyAllowed = false);

    [Fact]
    public async Task EveryBadRequest_IsA4xxInTheErrorShape_AndWritesNothing()
    {
        var user = "corpus-" + Guid.NewGuid().ToString("N")[..6];
        using var http = await edge.ClientAsync(user);
        var (conv, task) = await SeedAsync(http);
        var before = await edge.FootprintAsync(user);

        var failures = new List<string>();
        var count = 0;
        foreach (var probe in Corpus(user, conv, task))
        {
            count++;
            var (status, body) = await EdgeProbe.SendAsync(http, probe);
            if (status is < 400 or > 499 || (probe.Expected is { } e && !e.Contains(status)))
                failures.Add($"{probe}: HTTP {status}{(probe.Expected is { } x ? $", expected {string.Join("/", x)}" : "")}: {EdgeProbe.Short(body)}");
            else if (probe.ServerRejects && status == 400 && body == "-\n") { }
            else if (EdgeProbe.ErrorShapeProblem(body) is { } shape)
                failures.Add($"{probe}: HTTP {status} but {shape}");
        }

        var after = await edge.FootprintAsync(user);
        if (after != before) failures.Add($"something was written: before {before}, after {after}");
        Assert.True(count > 200, $"only {count} cases");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} bad requests were not answered well:\n" + string.Join("\n", failures));
    }

    [Fact]
    public async Task HostileQueries_OnReads_AreNever5xxOrHtml()
    {
        using var http = await edge.ClientAsync("reader-" + Guid.NewGuid().ToString("N")[..6]);
        var failures = new List<string>();
        foreach (var path in new[] { "/api/v1/tasks/t1", "/api/v1/conversations", "/api/v1/files", "/api/v1/files/download", "/api/v1/memories", "/agent/sessionids/x" })
            foreach (var (name, query) in HostileQueries("from", "path", "q", "limit", "offset"))
            {
                var probe = new EdgeProbe("read with " + name, HttpMethod.Get, path + query);
                var (status, body) = await EdgeProbe.SendAsync(http, probe);
                if (status is < 200 or >= 500) failures.Add($"{probe}: HTTP {status}: {EdgeProbe.Short(body)}");
                else if (status >= 400 && EdgeProbe.ErrorShapeProblem(body) is { } shape) failures.Add($"{probe}: HTTP {status} but {shape}");
            }
        Assert.True(failures.Count == 0, $"{failures.Count} failures:\n" + string.Join("\n", failures));
    }

    private static IEnumerable<(string Name, string Query)> HostileQueries(params string[] keys)
    {
        foreach (var k in keys)
        {
            yield return ("NUL", $"?{k}=a%00b");
            yield return ("dot-dot", $"?{k}=../../../etc/passwd");
            yield return ("encoded dot-dot", $"?{k}=..%2F..%2Fetc%2Fpasswd");
            yield return ("unicode controls", $"?{k}=%E2%80%AE%01%1B%7F");
            yield return ("repeated", $"?{k}=1&{k}=2&{k}=3");
            yield return ("bad UTF-8", $"?{k}=%FF%FE%C3%28");
            yield return ("negative", $"?{k}=-1");
            yield return ("huge number", $"?{k}=99999999999999999999999");
            yield return ("bad percent", $"?{k}=%ZZ%");
        }
        yield return ("long (6 KB)", "?x=" + new string('a', 6 * 1024));
        yield return ("very long (20 KB)", "?x=" + new string('a', 20 * 1024));
        yield return ("many params", "?" + string.Join("&", Enumerable.Range(0, 2000).Select(i => $"p{i}=1")));
    }

    private static IEnumerable<EdgeProbe> Corpus(string user, string conv, string task) =>
        RawCorpus(user, conv, task).Select(p => p.Url.Split('?')[0].Contains("%00") ? p with { ServerRejects = true } : p);

    private static IEnumerable<EdgeProbe> RawCorpus(string user, string conv, string task)
    {
        var post = HttpMethod.Post;
        var endpoints = new[]
        {
            new BodyEndpoint("/api/v1/conversations", new JsonObject { ["title"] = "t" }, EmptyBodyAllowed: true),
            new BodyEndpoint("/api/v1/messages", new JsonObject { ["message"] = "hi", ["conversation_id"] = conv }),
            new BodyEndpoint($"/api/v1/tasks/{task}/resume", new JsonObject { ["response_type"] = "accept" }),
            new BodyEndpoint("/agent/invoke", new JsonObject { ["user_id"] = user, ["session_id"] = conv, ["query"] = "hi" }),
            new BodyEndpoint("/agent/resume", new JsonObject { ["user_id"] = user, ["session_id"] = conv, ["task_id"] = task, ["response_type"] = "accept" }),
            new BodyEndpoint("/agent/write/longterm", new JsonObject { ["user_id"] = user, ["memory_info"] = "m" }),
            new BodyEndpoint("/api/v1/memories", new JsonObject { ["content"] = "m", ["tags"] = new JsonArray("a") }),
        };
        var tooBig = (int)EdgeFixture.MaxJsonBytes * 2;

        foreach (var ep in endpoints)
        {
            var valid = ep.Valid.ToJsonString();
            var firstKey = ep.Valid.First().Key;
            EdgeProbe Raw(string name, string body, string? type = "application/json", params int[] expected) =>
                new(name, post, ep.Url, Encoding.UTF8.GetBytes(body), type, expected.Length == 0 ? null : expected);
            EdgeProbe Bytes(string name, byte[] body, string? type = "application/json", params int[] expected) =>
                new(name, post, ep.Url, body, type, expected.Length == 0 ? null : expected);

            // malformed JSON
            yield return Raw("truncated JSON", valid[..(valid.Length / 2)], "application/json", 400);
            yield return Raw("trailing garbage", valid + "}}", "application/json", 400);
            yield return Raw("two documents", valid + valid, "application/json", 400);
            yield return Raw("single quotes", valid.Replace('"', '\''), "application/json", 400);
            yield return Raw("comments", "/* x */" + valid, "application/json", 400);
            yield return Raw("trailing comma", valid[..^1] + ",}", "application/json", 400);
            yield return Raw("an array", "[" + valid + "]", "application/json", 400);
            yield return Raw("a string", "\"text\"", "application/json", 400);
            yield return Raw("null", "null", "application/json", 400);
            yield return Raw("a number", "42", "application/json", 400);
            yield return Raw("deep nesting", new string('[', 5000) + new string(']', 5000), "application/json", 400);
            yield return Raw("deep object nesting", string.Concat(Enumerable.Repeat("{\"a\":", 3000)) + "1" + new string('}', 3000), "application/json", 400);
            if (!ep.EmptyBodyAllowed)
            {
                yield return Raw("empty body", "", "application/json", 400);
                yield return Raw("whitespace body", "   \n ", "application/json", 400);
                yield return Raw("empty object", "{}", "application/json", 400);
                yield return new EdgeProbe("no body at all", post, ep.Url, Expected: [400, 411, 415]);
            }

            // wrong content types (with a body that would otherwise be accepted)
            yield return Raw("text/plain", valid, "text/plain", 415);
            yield return Raw("no content type", valid, null, 415);
            yield return Raw("form", "a=b", "application/x-www-form-urlencoded", 415);
            yield return Raw("xml", "<a/>", "application/xml", 415);
            yield return Raw("multipart", "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--\r\n", "multipart/form-data; boundary=x", 415);
            yield return Raw("json-looking type", valid, "application/jsonx", 415);
            yield return Raw("bogus charset", valid, "application/json; charset=ebcdic-xx", 400, 415);
            yield return Bytes("UTF-16 body", Encoding.Unicode.GetBytes(valid), "application/json; charset=utf-16", 400, 415);

            // huge bodies: past the gateway's JSON limit
            var huge = ep.Valid.DeepClone().AsObject();
            huge[ep.Valid.First(p => p.Value is JsonValue v && v.GetValueKind() == JsonValueKind.String).Key] = new string('x', tooBig);
            yield return Raw("huge body", huge.ToJsonString(), "application/json", 413);
            yield return Bytes("huge body, chunked", Encoding.UTF8.GetBytes(huge.ToJsonString()), "application/json", 413) with { Chunked = true };
            yield return Raw("huge body of whitespace", new string(' ', tooBig) + valid, "application/json", 413);

            // unknown fields and wrong types
            var unknown = ep.Valid.DeepClone().AsObject();
            unknown["zz_unknown"] = 1;
            yield return Raw("unknown field", unknown.ToJsonString(), "application/json", 400);
            var caseChanged = new JsonObject(ep.Valid.Select(p => KeyValuePair.Create(p.Key.ToUpperInvariant(), p.Value?.DeepClone())));
            yield return Raw("field names in another case", caseChanged.ToJsonString(), "application/json", 400);
            foreach (var (key, value) in ep.Valid)
                foreach (var (kind, bad) in WrongTypes(value))
                {
                    var body = ep.Valid.DeepClone().AsObject();
                    body[key] = bad;
                    yield return Raw($"'{key}' as {kind}", body.ToJsonString(), "application/json", 400);
                }

            // bad UTF-8 inside a string and as a key
            yield return Bytes("bad UTF-8 in a value", [.. Encoding.UTF8.GetBytes($"{{\"{firstKey}\":\""), 0xFF, 0xFE, 0xC3, 0x28, .. "\"}"u8], "application/json", 400);
            yield return Bytes("bad UTF-8 as a key", [.. "{\""u8, 0xC0, 0xAF, .. "\":1}"u8], "application/json", 400);
            yield return Bytes("lone surrogate escape", Encoding.UTF8.GetBytes(valid.Replace($"\"{firstKey}\":", $"\"{firstKey}\":\"\\uD800\",\"x_dup\":")), "application/json", 400);
            yield return Bytes("UTF-8 BOM then garbage", [0xEF, 0xBB, 0xBF, .. "{{"u8], "application/json", 400);

            // hostile query strings, with a body that is refused on its own (unknown field): still a clean 4xx
            foreach (var (name, query) in HostileQueries("x", "user_id", "from"))
                yield return Raw("query " + name, unknown.ToJsonString(), "application/json") with { Url = ep.Url + query };

            // the other methods
            foreach (var m in new[] { HttpMethod.Put, HttpMethod.Patch })
                yield return new EdgeProbe($"{m} instead of POST", m, ep.Url, Encoding.UTF8.GetBytes(valid), Expected: [404, 405]);
        }

        // invalid ids in paths and bodies
        foreach (var bad in BadIds())
        {
            yield return Lone(bad, EdgeProbe.Json($"resume task id {bad.Name}", post, $"/api/v1/tasks/{bad.InPath}/resume", new { response_type = "accept" }, 400, 404));
            yield return new EdgeProbe($"cancel task id {bad.Name}", post, $"/api/v1/tasks/{bad.InPath}/cancel", Expected: [400, 404]);
            yield return Lone(bad, EdgeProbe.Json($"message to conversation id {bad.Name}", post, "/api/v1/messages", new { message = "hi", conversation_id = bad.Raw }, 400, 404));
            yield return Lone(bad, EdgeProbe.Json($"invoke with session id {bad.Name}", post, "/agent/invoke", new { user_id = user, session_id = bad.Raw, task_id = NewId(), query = "hi" }, 400));
            yield return Lone(bad, EdgeProbe.Json($"invoke with task id {bad.Name}", post, "/agent/invoke", new { user_id = user, session_id = conv, task_id = bad.Raw, query = "hi" }, 400));
            yield return Lone(bad, EdgeProbe.Json($"invoke with user id {bad.Name}", post, "/agent/invoke", new { user_id = bad.Raw, session_id = conv, task_id = NewId(), query = "hi" }, 400, 403));
            yield return Lone(bad, EdgeProbe.Json($"resume with task id {bad.Name}", post, "/agent/resume",
                new { user_id = user, session_id = conv, task_id = bad.Raw, response_type = "accept" }, 400, 404));
            yield return Lone(bad, EdgeProbe.Json($"long-term memory for user id {bad.Name}", post, "/agent/write/longterm", new { user_id = bad.Raw, memory_info = "m" }, 400, 403));
            yield return new EdgeProbe($"delete memory id {bad.Name}", HttpMethod.Delete, $"/api/v1/memories/{bad.InPath}", Expected: [400, 404]);
            yield return new EdgeProbe($"delete session id {bad.Name}", HttpMethod.Delete, $"/agent/session/{user}/{bad.InPath}", Expected: [400, 404]);
            yield return new EdgeProbe($"delete task id {bad.Name}", HttpMethod.Delete, $"/agent/session/{user}/{conv}/{bad.InPath}", Expected: [400, 404]);
            yield return new EdgeProbe($"delete file path {bad.Name}", HttpMethod.Delete, $"/api/v1/files?path={bad.InPath}", Expected: [400, 404]);
        }

        // invalid values that are not ids
        yield return EdgeProbe.Json("resume with an unknown response type", post, $"/api/v1/tasks/{task}/resume", new { response_type = "maybe" }, 400, 409);
        yield return EdgeProbe.Json("max_iterations 0", post, "/api/v1/messages", new { message = "hi", conversation_id = conv, max_iterations = 0 }, 400);
        yield return EdgeProbe.Json("max_iterations 51", post, "/api/v1/messages", new { message = "hi", conversation_id = conv, max_iterations = 51 }, 400);
        yield return EdgeProbe.Json("unknown run mode", post, "/api/v1/messages", new { message = "hi", conversation_id = conv, run_mode = "turbo" }, 400);
        yield return EdgeProbe.Json("unknown model", post, "/api/v1/messages", new { message = "hi", conversation_id = conv, model_key = "no-such-model" }, 400);
        yield return EdgeProbe.Json("empty message", post, "/api/v1/messages", new { message = "", conversation_id = conv }, 400);
        yield return EdgeProbe.Json("empty query", post, "/agent/invoke", new { user_id = user, session_id = conv, task_id = NewId(), query = "" }, 400);
        yield return EdgeProbe.Json("memory too long", post, "/api/v1/memories", new { content = new string('m', 8001) }, 400);
        yield return EdgeProbe.Json("empty memory", post, "/api/v1/memories", new { content = "   " }, 400);
        yield return EdgeProbe.Json("too many tags", post, "/api/v1/memories", new { content = "m", tags = Enumerable.Range(0, 50).Select(i => $"t{i}").ToArray() }, 400);
        yield return EdgeProbe.Json("NUL in a message", post, "/api/v1/messages", new { message = "a\0b", conversation_id = conv }, 400);
        yield return EdgeProbe.Json("NUL in a query", post, "/agent/invoke", new { user_id = user, session_id = conv, task_id = NewId(), query = "a\0b" }, 400);
        yield return EdgeProbe.Json("NUL in a memory", post, "/api/v1/memories", new { content = "a\0b" }, 400);
        yield return EdgeProbe.Json("NUL in a tag", post, "/api/v1/memories", new { content = "m", tags = new[] { "a\0" } }, 400);
        yield return EdgeProbe.Json("NUL in a long-term memory", post, "/agent/write/longterm", new { user_id = user, memory_info = "a\0b" }, 400);
        yield return EdgeProbe.Json("NUL in a title", post, "/api/v1/conversations", new { title = "a\0b" }, 400);
        yield return EdgeProbe.Json("NUL in resume args", post, $"/api/v1/tasks/{task}/resume", new { response_type = "edit", args = new { path = "a\0b" } }, 400);
        yield return EdgeProbe.Json("title too long", post, "/api/v1/conversations", new { title = new string('t', 201) }, 400);

        foreach (var probe in UploadCorpus()) yield return probe;
    }

    private static IEnumerable<(string Kind, JsonNode? Bad)> WrongTypes(JsonNode? value)
    {
        if (value is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            yield return ("number", 12345);
            yield return ("boolean", true);
            yield return ("object", new JsonObject { ["a"] = 1 });
            yield return ("array", new JsonArray("a"));
        }
        else if (value is JsonArray)
        {
            yield return ("string", "a");
            yield return ("array of numbers", new JsonArray(1, 2));
            yield return ("object", new JsonObject());
        }
    }

    /// <summary>
    /// A serializer cannot write a lone surrogate (it writes U+FFFD instead), so the bad id that stands for one is
    /// put into the JSON text as the escape <c>\uD800</c> by hand.
    /// </summary>
    private static EdgeProbe Lone(BadId bad, EdgeProbe probe) => bad.Raw != LoneSurrogate ? probe
        : probe with { Body = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(probe.Body!).Replace("\\uFFFD", "\\uD800", StringComparison.OrdinalIgnoreCase)) };

    private const string LoneSurrogate = "\uFFFD";

    private static string NewId() => "t-" + Guid.NewGuid().ToString("N");

    private sealed record BadId(string Name, string Raw, string InPath);

    private static IEnumerable<BadId> BadIds()
    {
        yield return new("with dot-dot", "../../etc", "..%2F..%2Fetc");
        yield return new("with NUL", "a\0b", "a%00b");
        yield return new("of 5000 characters", new string('i', 5000), new string('i', 5000));
        yield return new("with bidi override", "a\u202Eb", "a%E2%80%AEb");
        yield return new("with a slash", "a/b", "a%2Fb");
        yield return new("with a backslash", "a\\b", "a%5Cb");
        yield return new("blank", " ", "%20");
        yield return new("with newline", "a\nb", "a%0Ab");
        yield return new("with a lone surrogate / bad UTF-8", LoneSurrogate, "%FF%FE");
    }

    private static IEnumerable<EdgeProbe> UploadCorpus()
    {
        const string url = "/api/v1/files/upload";
        const string boundary = "corpus-boundary";
        var type = $"multipart/form-data; boundary={boundary}";
        var post = HttpMethod.Post;
        static string Part(string name, string value, string? filename = null) =>
            $"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{(filename is null ? "" : $"; filename=\"{filename}\"")}\r\n\r\n{value}\r\n";
        const string end = $"--{boundary}--\r\n";
        var file = Part("file", "content", "a.txt");

        yield return EdgeProbe.Raw("upload as JSON", post, url, "{\"file\":\"x\"}", "application/json", 415);
        yield return EdgeProbe.Raw("upload without content type", post, url, file + end, null, 415);
        yield return EdgeProbe.Raw("upload without boundary", post, url, file + end, "multipart/form-data", 400, 415);
        yield return EdgeProbe.Raw("upload with a wrong boundary", post, url, file + end, "multipart/form-data; boundary=other", 400);
        yield return EdgeProbe.Raw("upload without a file part", post, url, Part("dir", "x") + end, type, 400);
        yield return EdgeProbe.Raw("upload with two file parts", post, url, file + Part("file", "b", "b.txt") + end, type, 400);
        yield return EdgeProbe.Raw("upload with an unknown field", post, url, Part("owner", "x") + file + end, type, 400);
        yield return EdgeProbe.Raw("upload truncated", post, url, file[..20], type, 400);
        yield return EdgeProbe.Raw("upload of garbage", post, url, "garbage", type, 400);
        yield return EdgeProbe.Raw("upload empty", post, url, "", type, 400);
        foreach (var (name, dir) in new[] { ("dot-dot", "../x"), ("absolute", "/etc"), ("NUL", "a\0b"), ("control", "a\u0001b"), ("bidi", "a\u202Eb"),
                     ("backslash", "a\\b"), ("empty segment", "a//b"), ("dot", "./a"), ("too deep", string.Join("/", Enumerable.Repeat("d", 40))),
                     ("too long a name", new string('n', 300)) })
        {
            yield return EdgeProbe.Raw($"upload to dir {name}", post, url, Part("dir", dir) + file + end, type, 400);
            yield return EdgeProbe.Raw($"upload as filename {name}", post, url, Part("filename", dir) + file + end, type, 400);
        }
        yield return new EdgeProbe("upload with a bad UTF-8 dir", post, url,
            [.. Encoding.UTF8.GetBytes($"--{boundary}\r\nContent-Disposition: form-data; name=\"dir\"\r\n\r\n"), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes("\r\n" + file + end)],
            type, [400]);
        var big = Part("file", new string('x', (int)EdgeFixture.MaxUploadBytes + 2 * 1024 * 1024), "big.bin") + end;
        yield return EdgeProbe.Raw("upload past the limit", post, url, big, type, 413);
        yield return EdgeProbe.Raw("upload past the limit, chunked", post, url, big, type, 413) with { Chunked = true };
        foreach (var (name, query) in HostileQueries("path", "dir"))
            yield return EdgeProbe.Raw("upload, query " + name, post, url + query, Part("owner", "x") + file + end, type, 400, 414, 431);
        foreach (var m in new[] { HttpMethod.Put, HttpMethod.Patch })
            yield return EdgeProbe.Raw($"upload with {m}", m, url, file + end, type, 404, 405);
    }

    private static async Task<(string Conv, string Task)> SeedAsync(HttpClient http)
    {
        var ct = TestContext.Current.CancellationToken;
        var r = await http.PostAsJsonAsync("/api/v1/conversations", new { title = "corpus" }, ct);
        r.EnsureSuccessStatusCode();
        var conv = (await r.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("conversation_id").GetString()!;
        var m = await http.PostAsJsonAsync("/api/v1/messages", new { message = "hello", conversation_id = conv }, ct);
        Assert.Equal(HttpStatusCode.Accepted, m.StatusCode);
        var task = (await m.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("task_id").GetString()!;
        await TaskPolling.PollAsync(http, task);
        return (conv, task);
    }
}
