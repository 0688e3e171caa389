using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>The v1 API's shapes and status codes (spec/agents-api-v1.openapi.yaml) on the embedded default.</summary>
public sealed partial class V1ApiTests(EmbeddedApp app) : IClassFixture<EmbeddedApp>
{
    [GeneratedRegex(@"^conv_\d{8}_\d{6}_\d{3}$")]
    private static partial Regex ConversationId();

    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpClient c, HttpMethod m, string path, string? json = null, string contentType = "application/json")
    {
        var req = new HttpRequestMessage(m, path);
        if (json is not null) req.Content = new StringContent(json, Encoding.UTF8, contentType);
        var resp = await c.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        return (resp.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static void AssertError(JsonElement body)
    {
        Assert.False(body.GetProperty("success").GetBoolean());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task CreateConversation_Returns200WithSpecShapedId_UniqueUnderConcurrency()
    {
        var c = await app.ClientForAsync("conv-user");
        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => SendAsync(c, HttpMethod.Post, "/api/v1/conversations")));
        Assert.All(results, r =>
        {
            Assert.Equal(HttpStatusCode.OK, r.Status);
            Assert.True(r.Body.GetProperty("success").GetBoolean());
            Assert.Matches(ConversationId(), r.Body.GetProperty("conversation_id").GetString());
        });
        Assert.Equal(30, results.Select(r => r.Body.GetProperty("conversation_id").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task SendMessage_Returns202WithTask_AndThePollShowsAGaplessLogEndingInTaskCompleted()
    {
        var c = await app.ClientForAsync("send-user");
        var (status, body) = await SendAsync(c, HttpMethod.Post, "/api/v1/messages", """{"message":"hello agents micro"}""");
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.True(body.GetProperty("success").GetBoolean());
        Assert.Equal("running", body.GetProperty("status").GetString());
        Assert.Matches(ConversationId(), body.GetProperty("conversation_id").GetString());
        Assert.True(body.GetProperty("created_at").GetDouble() > 1.7e9);
        var taskId = body.GetProperty("task_id").GetString()!;
        Assert.True(Guid.TryParse(taskId, out _));

        var polled = await TaskPolling.PollAsync(c, taskId);
        var types = polled.Types.ToList();
        Assert.Equal("task_started", types[0]);
        Assert.Equal("task_completed", types[^1]);
        Assert.True(types.Count(t => t == "text_chunk") >= 3, string.Join(",", types));
        Assert.Single(types, t => PolledTask.TerminalTypes.Contains(t));
        var result = polled.Events[^1].GetProperty("data").GetProperty("result");
        Assert.Equal(polled.Text(), result.GetProperty("text").GetString());
        Assert.Contains("hello agents micro", polled.Text());
        Assert.Equal("completed", polled.Status);

        // Continuing from next_offset returns nothing new, and the offset stays put.
        var (s2, tail) = await SendAsync(c, HttpMethod.Get, $"/api/v1/tasks/{taskId}?from={polled.NextOffset}");
        Assert.Equal(HttpStatusCode.OK, s2);
        Assert.Empty(tail.GetProperty("data").GetProperty("events").EnumerateArray());
        Assert.Equal(polled.NextOffset, tail.GetProperty("data").GetProperty("next_offset").GetInt64());
        var (s3, mid) = await SendAsync(c, HttpMethod.Get, $"/api/v1/tasks/{taskId}?from=2");
        Assert.Equal(2, mid.GetProperty("data").GetProperty("events")[0].GetProperty("idx").GetInt64());
        Assert.Equal(HttpStatusCode.OK, s3);
    }

    public static TheoryData<string, string, HttpStatusCode> BadSends => new()
    {
        { "both empty", """{"message":"","images":[]}""", HttpStatusCode.BadRequest },
        { "nothing at all", """{}""", HttpStatusCode.BadRequest },
        { "unknown field", """{"message":"hi","temperature":1}""", HttpStatusCode.BadRequest },
        { "message not a string", """{"message":42}""", HttpStatusCode.BadRequest },
        { "images not an array", """{"message":"hi","images":"a.png"}""", HttpStatusCode.BadRequest },
        { "images of numbers", """{"images":[1,2]}""", HttpStatusCode.BadRequest },
        { "images with a null", """{"message":"hi","images":[null]}""", HttpStatusCode.BadRequest },
        { "thinking_mode not a bool", """{"message":"hi","thinking_mode":"yes"}""", HttpStatusCode.BadRequest },
        { "max_iterations not an int", """{"message":"hi","max_iterations":2.5}""", HttpStatusCode.BadRequest },
        { "max_iterations out of range", """{"message":"hi","max_iterations":0}""", HttpStatusCode.BadRequest },
        { "unknown run_mode", """{"message":"hi","run_mode":"turbo"}""", HttpStatusCode.BadRequest },
        { "unknown model_key", """{"message":"hi","model_key":"gpt-17"}""", HttpStatusCode.BadRequest },
        { "malformed JSON", """{"message":"hi" """, HttpStatusCode.BadRequest },
        { "not an object", """["hi"]""", HttpStatusCode.BadRequest },
        { "duplicate field", """{"message":"a","message":"b"}""", HttpStatusCode.BadRequest },
        { "unknown conversation", """{"message":"hi","conversation_id":"conv_19990101_000000_000"}""", HttpStatusCode.NotFound },
    };

    [Theory, MemberData(nameof(BadSends))]
    public async Task SendMessage_WithBadInput_ReturnsErrorBody_AndCreatesNoTask(string why, string json, HttpStatusCode expected)
    {
        var user = "bad-" + Guid.NewGuid().ToString("N")[..6];
        var c = await app.ClientForAsync(user);
        var (status, body) = await SendAsync(c, HttpMethod.Post, "/api/v1/messages", json);
        Assert.True(expected == status, $"{why}: {status} {body}");
        AssertError(body);
        var (_, convs) = await SendAsync(c, HttpMethod.Get, "/api/v1/conversations");
        Assert.Empty(convs.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task SendMessage_WithImages_ChecksEachImageAtSendTime()
    {
        var user = "img-" + Guid.NewGuid().ToString("N")[..6];
        var c = await app.ClientForAsync(user);
        using (var form = new MultipartFormDataContent())
        {
            form.Add(new ByteArrayContent([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "file", "cat.png");
            form.Add(new StringContent("pics"), "dir");
            Assert.Equal(HttpStatusCode.OK, (await c.PostAsync("/api/v1/files/upload", form)).StatusCode);
        }

        var cases = new (string Json, string ErrorContains)[]
        {
            ("""{"message":"look","images":["pics/dog.png"],"model_key":"vision"}""", "pics/dog.png' was not found"),
            ("""{"message":"look","images":["pics/cat.png","pics/none.jpg"],"model_key":"vision"}""", "pics/none.jpg' was not found"),
            ("""{"message":"look","images":["../etc/passwd.png"],"model_key":"vision"}""", "not a valid workspace path"),
            ("""{"message":"look","images":["notes.txt"],"model_key":"vision"}""", "is not an image"),
            ("""{"message":"look","images":["pics"],"model_key":"vision"}""", "is not an image"),
            ("""{"message":"look","images":["pics/cat.bmp"],"model_key":"vision"}""", "is not an image"),
            ("""{"message":"look","images":["pics/cat.png"]}""", "does not accept images"),
        };
        foreach (var (json, expected) in cases)
        {
            var (status, body) = await SendAsync(c, HttpMethod.Post, "/api/v1/messages", json);
            Assert.True(status == HttpStatusCode.BadRequest, $"{json}: {status} {body}");
            AssertError(body);
            Assert.Contains(expected, body.GetProperty("error").GetString());
        }
        var (_, none) = await SendAsync(c, HttpMethod.Get, "/api/v1/conversations");
        Assert.Empty(none.GetProperty("items").EnumerateArray());

        // The image that exists is accepted for a vision model.
        var (ok, accepted) = await SendAsync(c, HttpMethod.Post, "/api/v1/messages", """{"message":"look","images":["pics/cat.png"],"model_key":"vision"}""");
        Assert.True(ok == HttpStatusCode.Accepted, accepted.ToString());
    }

    [Fact]
    public async Task ConversationTasks_ListsEveryTurnOldestFirst_OnlyToItsOwner()
    {
        var c = await app.ClientForAsync("turns-" + Guid.NewGuid().ToString("N")[..6]);
        var conv = (await c.PostJsonAsync("/api/v1/conversations", new { }, 200)).GetProperty("conversation_id").GetString()!;
        var (_, empty) = await SendAsync(c, HttpMethod.Get, $"/api/v1/conversations/{conv}/tasks");
        Assert.Empty(empty.GetProperty("items").EnumerateArray());

        var ids = new List<string>();
        foreach (var text in new[] { "first turn", "second turn", "third turn" })
        {
            var id = (await c.PostJsonAsync("/api/v1/messages", new { message = text, conversation_id = conv }, 202)).GetProperty("task_id").GetString()!;
            await TaskPolling.PollAsync(c, id);
            ids.Add(id);
        }
        var (status, body) = await SendAsync(c, HttpMethod.Get, $"/api/v1/conversations/{conv}/tasks");
        Assert.Equal(HttpStatusCode.OK, status);
        var items = body.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(ids, items.Select(i => i.GetProperty("task_id").GetString()));
        Assert.Equal(["first turn", "second turn", "third turn"], items.Select(i => i.GetProperty("message").GetString()));
        Assert.All(items, i => Assert.Equal("completed", i.GetProperty("status").GetString()));
        Assert.All(items, i => Assert.True(i.GetProperty("event_count").GetInt64() >= 3));

        var other = await app.ClientForAsync("turns-other-" + Guid.NewGuid().ToString("N")[..6]);
        var (forbidden, err) = await SendAsync(other, HttpMethod.Get, $"/api/v1/conversations/{conv}/tasks");
        Assert.Equal(HttpStatusCode.NotFound, forbidden);
        AssertError(err);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(c, HttpMethod.Get, "/api/v1/conversations/conv_19990101_000000_000/tasks")).Status);
    }

    [Fact]
    public async Task SendMessage_WithWrongContentType_Returns415()
    {
        var c = await app.ClientForAsync("ct-user");
        var (status, body) = await SendAsync(c, HttpMethod.Post, "/api/v1/messages", "message=hi", "application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        AssertError(body);
    }

    [Fact]
    public async Task SendMessage_WhenConversationBusy_Returns409()
    {
        var c = await app.ClientForAsync("busy-user");
        var first = await c.PostJsonAsync("/api/v1/messages", new { message = "count to 2000" }, 202);
        var conv = first.GetProperty("conversation_id").GetString();
        var (status, body) = await SendAsync(c, HttpMethod.Post, "/api/v1/messages", JsonSerializer.Serialize(new { message = "again", conversation_id = conv }));
        Assert.Equal(HttpStatusCode.Conflict, status);
        AssertError(body);
        await c.PostAsync($"/api/v1/tasks/{first.GetProperty("task_id").GetString()}/cancel", null);
    }

    [Fact]
    public async Task PollTask_UnknownOrOtherUsers_Returns404_BadOffset400_NoToken401()
    {
        var alice = await app.ClientForAsync("poll-alice");
        var bob = await app.ClientForAsync("poll-bob");
        var sent = await alice.PostJsonAsync("/api/v1/messages", new { message = "mine" }, 202);
        var id = sent.GetProperty("task_id").GetString();

        var (s1, b1) = await SendAsync(alice, HttpMethod.Get, $"/api/v1/tasks/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, s1);
        AssertError(b1);
        var (s2, b2) = await SendAsync(bob, HttpMethod.Get, $"/api/v1/tasks/{id}");
        Assert.Equal(HttpStatusCode.NotFound, s2);
        AssertError(b2);
        var (s3, _) = await SendAsync(bob, HttpMethod.Post, $"/api/v1/tasks/{id}/cancel");
        Assert.Equal(HttpStatusCode.NotFound, s3);
        foreach (var bad in new[] { "-1", "abc", "1.5", "99999999999999999999" })
        {
            var (s4, b4) = await SendAsync(alice, HttpMethod.Get, $"/api/v1/tasks/{id}?from={bad}");
            Assert.True(s4 == HttpStatusCode.BadRequest, $"from={bad}: {s4}");
            AssertError(b4);
        }
        var anon = app.CreateClient();
        var (s5, b5) = await SendAsync(anon, HttpMethod.Get, $"/api/v1/tasks/{id}");
        Assert.Equal(HttpStatusCode.Unauthorized, s5);
        AssertError(b5);
        anon.DefaultRequestHeaders.Add("Authorization", "Bearer not-a-token");
        var (s6, b6) = await SendAsync(anon, HttpMethod.Post, "/api/v1/conversations");
        Assert.Equal(HttpStatusCode.Unauthorized, s6);
        AssertError(b6);
    }

    [Fact]
    public async Task UnknownRouteAndWrongMethod_AnswerWithTheErrorBody()
    {
        var c = await app.ClientForAsync("route-user");
        var (s1, b1) = await SendAsync(c, HttpMethod.Get, "/api/v1/nope");
        Assert.Equal(HttpStatusCode.NotFound, s1);
        AssertError(b1);
        var (s2, b2) = await SendAsync(c, HttpMethod.Delete, "/api/v1/messages");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, s2);
        AssertError(b2);
    }

    [Fact]
    public async Task Health_LiveAndReady_AreUpWithoutAToken_DetailsOnlyForAdmins()
    {
        var anon = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await anon.GetAsync("/health/live")).StatusCode);
        var ready = await anon.GetAsync("/health/ready");
        var body = await ready.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        // A stranger learns that it is up, not what it runs on.
        Assert.Equal(["status"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Healthy", body.GetProperty("status").GetString());

        var admin = await app.ClientForAsync("health-admin", admin: true);
        var detailed = await (await admin.GetAsync("/health/ready")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Healthy", detailed.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
        var user = await app.ClientForAsync("health-user");
        Assert.False((await (await user.GetAsync("/health/ready")).Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("checks", out _));
    }
}
