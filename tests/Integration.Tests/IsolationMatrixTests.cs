using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>
/// Two users through the gateway: everything of user A's that takes an id (conversation, task, agent session, file
/// path, memory id), in every method, is answered to user B as if it did not exist (404), or 403 where the path or
/// body names user A; nothing of A's shows in B's lists and searches; afterwards A's data is as it was.
/// The cases are data: add a line to extend the matrix. The test fails listing every case that leaked.
/// </summary>
[Collection(EdgeCollection.Name)]
public sealed class IsolationMatrixTests(EdgeFixture edge)
{
    private const string Secret = "sekrit";

    private sealed record UserAData(string A, string Conv, string Conv2, string Task, string Task2, string Memory);

    [Fact]
    public async Task UserB_ReachesNothingOfUserA_InAnyMethod_AndUserAsDataIsUnchanged()
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var a = "alice-" + suffix;
        var b = "bob-" + suffix;
        using var httpA = await edge.ClientAsync(a);
        using var httpB = await edge.ClientAsync(b);
        var data = await SeedUserAAsync(httpA, a);
        var footprintBefore = await edge.FootprintAsync(a);

        var failures = new List<string>();
        foreach (var probe in Matrix(data, b))
        {
            var (status, body) = await EdgeProbe.SendAsync(httpB, probe);
            var expected = probe.Expected ?? [404];
            if (!expected.Contains(status))
                failures.Add($"{probe}: HTTP {status}, expected {string.Join("/", expected)}: {EdgeProbe.Short(body)}");
            else if (status >= 400 && EdgeProbe.ErrorShapeProblem(body) is { } shape)
                failures.Add($"{probe}: HTTP {status} but {shape}");
            foreach (var marker in (probe.MustNotContain ?? []).Append(Secret))
                if (body.Contains(marker, StringComparison.Ordinal))
                    failures.Add($"{probe}: the answer shows '{marker}' of user A: {EdgeProbe.Short(body)}");
        }

        // B may open a session under the same id in its own namespace; its agent must not see A's history there.
        failures.AddRange(await HistoryLeakAsync(httpB, b, data));

        failures.AddRange(await CheckUserAUnchangedAsync(httpA, data));
        var footprintAfter = await edge.FootprintAsync(a);
        if (footprintAfter != footprintBefore) failures.Add($"user A's data changed: before {footprintBefore}, after {footprintAfter}");

        Assert.True(failures.Count == 0, $"{failures.Count} leaks:\n" + string.Join("\n", failures));
    }

    private static IEnumerable<EdgeProbe> Matrix(UserAData d, string b)
    {
        var (a, conv, conv2, task, task2, mem) = (d.A, d.Conv, d.Conv2, d.Task, d.Task2, d.Memory);
        var ids = new[] { conv, conv2, task, task2, mem };
        var get = HttpMethod.Get;
        var post = HttpMethod.Post;
        var put = HttpMethod.Put;
        var patch = HttpMethod.Patch;
        var delete = HttpMethod.Delete;
        int[] notFound = [404];
        int[] forbidden = [403];
        int[] noSuchMethod = [404, 405];

        // v1 tasks (task: interrupted, task2: completed)
        foreach (var t in new[] { task, task2 })
        {
            yield return new("poll", get, $"/api/v1/tasks/{t}");
            yield return new("poll from 0", get, $"/api/v1/tasks/{t}?from=0");
            yield return new("cancel", post, $"/api/v1/tasks/{t}/cancel");
            yield return EdgeProbe.Json("resume accept", post, $"/api/v1/tasks/{t}/resume", new { response_type = "accept" }, notFound);
            yield return EdgeProbe.Json("resume reject", post, $"/api/v1/tasks/{t}/resume", new { response_type = "reject" }, notFound);
            yield return EdgeProbe.Json("resume edit", post, $"/api/v1/tasks/{t}/resume",
                new { response_type = "edit", args = new { path = "notes/a.txt", content = "B was here" } }, notFound);
            foreach (var m in new[] { put, patch, delete })
                yield return new("other method on a task", m, $"/api/v1/tasks/{t}", Expected: noSuchMethod);
        }

        // v1 conversations and messages
        yield return EdgeProbe.Json("message into A's idle conversation", post, "/api/v1/messages", new { message = "hi", conversation_id = conv2 }, notFound);
        yield return EdgeProbe.Json("message into A's busy conversation", post, "/api/v1/messages", new { message = "hi", conversation_id = conv }, notFound);
        yield return new("list conversations", get, "/api/v1/conversations", Expected: [200], MustNotContain: ids);
        foreach (var m in new[] { put, patch, delete })
        {
            yield return new("other method on conversations", m, "/api/v1/conversations", Expected: noSuchMethod);
            yield return new("a conversation by id", m, $"/api/v1/conversations/{conv}", Expected: noSuchMethod);
        }
        yield return new("GET a conversation by id", get, $"/api/v1/conversations/{conv}", Expected: noSuchMethod);

        // agent-service API: the path or body names user A → 403; B's own user id with A's ids → 404
        yield return new("sessions of A", get, $"/agent/sessionids/{a}", Expected: forbidden);
        yield return new("active session of A", get, $"/agent/active/sessionid/{a}", Expected: forbidden);
        yield return new("B's own sessions", get, $"/agent/sessionids/{b}", Expected: [200], MustNotContain: ids);
        yield return new("B's own active session", get, $"/agent/active/sessionid/{b}", Expected: [200, 404], MustNotContain: ids);
        foreach (var (s, t) in new[] { (conv, task), (conv2, task2) })
        {
            yield return new("tasks of A's session as A", get, $"/agent/tasks/{a}/{s}", Expected: forbidden);
            yield return new("tasks of A's session as B", get, $"/agent/tasks/{b}/{s}");
            yield return new("status as A", get, $"/agent/status/{a}/{s}/{t}", Expected: forbidden);
            // The spec answers an unknown task with 200 and status not_found: it must look exactly like that.
            yield return new("status as B", get, $"/agent/status/{b}/{s}/{t}", Expected: [200, 404],
                MustNotContain: ["interrupted", "completed", "write_file"]);
            yield return new("delete A's task as A", delete, $"/agent/session/{a}/{s}/{t}", Expected: forbidden);
            yield return new("delete A's task as B", delete, $"/agent/session/{b}/{s}/{t}");
            yield return new("delete A's session as A", delete, $"/agent/session/{a}/{s}", Expected: forbidden);
            yield return new("delete A's session as B", delete, $"/agent/session/{b}/{s}");
            yield return EdgeProbe.Json("invoke in A's session as A", post, "/agent/invoke", new { user_id = a, session_id = s, task_id = NewId(), query = "hi" }, forbidden);
            yield return EdgeProbe.Json("resume A's task as A", post, "/agent/resume",
                new { user_id = a, session_id = s, task_id = t, response_type = "accept" }, forbidden);
            yield return EdgeProbe.Json("resume A's task as B", post, "/agent/resume",
                new { user_id = b, session_id = s, task_id = t, response_type = "accept" }, notFound);
            yield return EdgeProbe.Json("resume A's task in B's session", post, "/agent/resume",
                new { user_id = b, session_id = "b-own-session", task_id = t, response_type = "accept" }, notFound);
            // Task ids are scoped to their user: B's task of the same id is B's own (no 409 that would reveal A's),
            // and A's task is untouched (checked with the rest of A's data below).
            yield return EdgeProbe.Json("invoke reusing A's task id", post, "/agent/invoke",
                new { user_id = b, session_id = "b-own-" + t, task_id = t, query = "hi" }, [200]);
        }
        yield return new("system info (not admin)", get, "/system/info", Expected: forbidden);

        // files (A has notes/secret.txt)
        yield return new("download A's file", get, "/api/v1/files/download?path=notes/secret.txt");
        yield return new("download A's folder", get, "/api/v1/files/download?path=notes");
        yield return new("download B's whole workspace", get, "/api/v1/files/download?path=.", Expected: [200, 404], MustNotContain: ["secret.txt"]);
        yield return new("list A's folder", get, "/api/v1/files?path=notes");
        yield return new("list B's root", get, "/api/v1/files", Expected: [200], MustNotContain: ["secret.txt", "notes"]);
        yield return new("delete A's file", delete, "/api/v1/files?path=notes/secret.txt");
        yield return new("delete A's folder", delete, "/api/v1/files?path=notes");
        foreach (var escape in new[] { $"../{a}/notes/secret.txt", $"..%2F{a}%2Fnotes%2Fsecret.txt", $"%2E%2E/{a}/notes/secret.txt",
                     $"/{a}/notes/secret.txt", $"./../{a}/notes", $"notes/../../{a}/notes/secret.txt", $"..\\{a}\\notes\\secret.txt" })
        {
            yield return new("download escaping to A's workspace", get, $"/api/v1/files/download?path={escape}", Expected: [400, 404]);
            yield return new("list escaping to A's workspace", get, $"/api/v1/files?path={escape}", Expected: [400, 404]);
            yield return new("delete escaping to A's workspace", delete, $"/api/v1/files?path={escape}", Expected: [400, 404]);
        }
        foreach (var m in new[] { put, patch })
            yield return new("other method on files", m, "/api/v1/files?path=notes/secret.txt", Expected: noSuchMethod);

        // memories
        yield return new("get A's memory", get, $"/api/v1/memories/{mem}");
        yield return new("delete A's memory", delete, $"/api/v1/memories/{mem}");
        foreach (var m in new[] { put, patch, post })
            yield return new("other method on a memory", m, $"/api/v1/memories/{mem}", Expected: noSuchMethod);
        yield return new("search for A's memory", get, $"/api/v1/memories?q={Secret}%20oolong", Expected: [200], MustNotContain: [mem]);
        yield return new("list memories", get, "/api/v1/memories", Expected: [200], MustNotContain: [mem]);
        yield return EdgeProbe.Json("write long-term memory for A", post, "/agent/write/longterm", new { user_id = a, memory_info = "B writes for A" }, forbidden);

        // Writes under the same names in B's own namespace: allowed, but must not touch or reveal A's.
        yield return new("upload to the same path as A's file", post, "/api/v1/files/upload",
            Multipart("B's own content", "secret.txt", "notes", out var type), type, Expected: [200]);
        yield return EdgeProbe.Json("store the same memory content as A", post, "/api/v1/memories", new { content = "A likes oolong" }, 201, 200)
            with { MustNotContain = [mem] };
    }

    private static string NewId() => "t-" + Guid.NewGuid().ToString("N");

    private static byte[] Multipart(string content, string filename, string dir, out string contentType)
    {
        const string boundary = "edge-boundary-42";
        contentType = $"multipart/form-data; boundary={boundary}";
        return Encoding.UTF8.GetBytes(
            $"--{boundary}\r\nContent-Disposition: form-data; name=\"dir\"\r\n\r\n{dir}\r\n" +
            $"--{boundary}\r\nContent-Disposition: form-data; name=\"filename\"\r\n\r\n{filename}\r\n" +
            $"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: text/plain\r\n\r\n{content}\r\n" +
            $"--{boundary}--\r\n");
    }

    private async Task<UserAData> SeedUserAAsync(HttpClient http, string a)
    {
        var ct = TestContext.Current.CancellationToken;
        async Task<string> ConversationAsync(string title)
        {
            var r = await http.PostAsJsonAsync("/api/v1/conversations", new { title }, ct);
            r.EnsureSuccessStatusCode();
            return (await r.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("conversation_id").GetString()!;
        }
        async Task<string> MessageAsync(string conversation, string message)
        {
            var r = await http.PostAsJsonAsync("/api/v1/messages", new { message, conversation_id = conversation }, ct);
            Assert.True(r.StatusCode == HttpStatusCode.Accepted, await r.Content.ReadAsStringAsync(ct));
            return (await r.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("task_id").GetString()!;
        }

        var conv = await ConversationAsync($"A's {Secret} plans");
        var task = await MessageAsync(conv, $"write file notes/plan.txt with {Secret} plan");
        await TaskPolling.PollAsync(http, task, t => t.Status == "interrupted");
        var conv2 = await ConversationAsync($"A's {Secret} chat");
        var task2 = await MessageAsync(conv2, $"my password is {Secret}-123");
        await TaskPolling.PollAsync(http, task2);

        using var upload = new ByteArrayContent(Multipart($"A-file-{Secret}", "secret.txt", "notes", out var type));
        upload.Headers.TryAddWithoutValidation("Content-Type", type);
        var up = await http.PostAsync("/api/v1/files/upload", upload, ct);
        Assert.True(up.IsSuccessStatusCode, await up.Content.ReadAsStringAsync(ct));

        var m = await http.PostAsJsonAsync("/api/v1/memories", new { content = $"A likes {Secret} oolong" }, ct);
        Assert.True(m.StatusCode == HttpStatusCode.Created, await m.Content.ReadAsStringAsync(ct));
        var mem = (await m.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString()!;
        // The same content without the secret word, so that B storing it tests cross-user deduplication.
        (await http.PostAsJsonAsync("/api/v1/memories", new { content = "A likes oolong" }, ct)).EnsureSuccessStatusCode();
        return new UserAData(a, conv, conv2, task, task2, mem);
    }

    private async Task<List<string>> HistoryLeakAsync(HttpClient httpB, string b, UserAData d)
    {
        var failures = new List<string>();
        var r = await httpB.PostAsJsonAsync("/agent/invoke", new { user_id = b, session_id = d.Conv2, task_id = NewId(), query = "what did I say before?" });
        var body = await r.Content.ReadAsStringAsync();
        if (r.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict) return failures;
        if (r.StatusCode != HttpStatusCode.OK) return [$"invoke in B's namespace under A's session id: HTTP {(int)r.StatusCode} {body}"];
        var taskId = JsonDocument.Parse(body).RootElement.GetProperty("task_id").GetString()!;
        var polled = await TaskPolling.PollAsync(httpB, taskId);
        var all = string.Join("\n", polled.Events.Select(e => e.GetRawText()));
        if (all.Contains(Secret)) failures.Add($"B's agent in a session named like A's saw A's history: {EdgeProbe.Short(polled.Text())}");
        // And the session listing for B now shows B's own session, not A's tasks.
        var tasks = await httpB.GetStringAsync($"/agent/tasks/{b}/{d.Conv2}");
        if (tasks.Contains(d.Task2)) failures.Add($"B's session under A's id lists A's task: {tasks}");
        return failures;
    }

    private async Task<List<string>> CheckUserAUnchangedAsync(HttpClient http, UserAData d)
    {
        var failures = new List<string>();
        var interrupted = await TaskPolling.PollAsync(http, d.Task, t => true);
        if (interrupted.Status != "interrupted") failures.Add($"A's interrupted task is now {interrupted.Status}");
        var completed = await TaskPolling.PollAsync(http, d.Task2, t => true);
        if (completed.Status != "completed") failures.Add($"A's completed task is now {completed.Status}");
        var conversations = await http.GetStringAsync("/api/v1/conversations");
        if (!conversations.Contains(d.Conv) || !conversations.Contains(d.Conv2)) failures.Add($"A's conversations changed: {conversations}");
        var tasks = await http.GetStringAsync($"/agent/tasks/{d.A}/{d.Conv}");
        if (!tasks.Contains(d.Task)) failures.Add($"A's session lost its task: {tasks}");
        var file = await http.GetAsync("/api/v1/files/download?path=notes/secret.txt");
        var content = await file.Content.ReadAsStringAsync();
        if (file.StatusCode != HttpStatusCode.OK || content != $"A-file-{Secret}") failures.Add($"A's file is now HTTP {(int)file.StatusCode}: {content}");
        var memory = await http.GetAsync($"/api/v1/memories/{d.Memory}");
        var memoryBody = await memory.Content.ReadAsStringAsync();
        if (memory.StatusCode != HttpStatusCode.OK || !memoryBody.Contains($"A likes {Secret} oolong")) failures.Add($"A's memory is now HTTP {(int)memory.StatusCode}: {memoryBody}");
        return failures;
    }
}
