using System.Net;
using System.Text.Json;

namespace Agents.Micro.TaskApi.Tests;

/// <summary>
/// Every v1 response these flows see is checked against spec/agents-api-v1.openapi.yaml (the user's spec, copied
/// verbatim): a renamed field, a changed type or an undeclared status fails here.
/// </summary>
public sealed class V1SpecConformanceTests(TaskApiFactory api) : IClassFixture<TaskApiFactory>
{
    private static readonly OpenApiSchemaValidator Spec =
        OpenApiSchemaValidator.Load(Path.Combine(AppContext.BaseDirectory, "spec", "agents-api-v1.openapi.yaml"));

    private readonly List<string> _problems = [];
    private int _checked;

    private async Task<ApiResponse> CheckAsync(string template, string method, Func<Task<ApiResponse>> call, HttpStatusCode expected)
    {
        var r = await call();
        Assert.Equal(expected, r.Status);
        _problems.AddRange(Spec.ValidateResponse(template, method, (int)r.Status, r.ContentType, r.Body));
        _checked++;
        return r;
    }

    private object SpecRequest(object body)
    {
        _problems.AddRange(Spec.ValidateRequest("/api/v1/messages", "post", JsonSerializer.SerializeToElement(body)));
        return body;
    }

    [Theory]
    [InlineData("limit=0", "'limit' must be an integer between 1 and 1000")]
    [InlineData("limit=1001", "'limit' must be an integer between 1 and 1000")]
    [InlineData("limit=ten", "'limit' must be an integer between 1 and 1000")]
    [InlineData("from=-1", "'from' must be a non-negative integer")]
    [InlineData("from=1&from=2", "'from' must be a non-negative integer")]
    [InlineData("wait=x", "'wait' must be an integer between 0 and")]
    public async Task Poll_ABadQueryParameter_Is400NamingIt(string query, string error)
    {
        var client = api.ClientFor(TaskApiFactory.NewId("u"));
        var task = (await client.PostJsonAsync("/api/v1/messages", new { message = "hello" })).Body.GetProperty("task_id").GetString()!;
        // The spec declares no 400 for a poll (its only parameter is 'from'): checked here, in the error shape.
        var r = await client.GetJsonAsync($"/api/v1/tasks/{task}?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, r.Status);
        Assert.False(r.Body.GetProperty("success").GetBoolean());
        Assert.StartsWith(error, r.Error);
    }

    [Fact]
    public async Task V1Flows_EveryResponseMatchesTheSpec()
    {
        var user = TaskApiFactory.NewId("u");
        var client = api.ClientFor(user);
        var anonymous = api.CreateClient();

        // Conversations.
        await CheckAsync("/api/v1/conversations", "post", () => client.PostRawAsync("/api/v1/conversations", null), HttpStatusCode.OK);
        var conv = await CheckAsync("/api/v1/conversations", "post", () => client.PostJsonAsync("/api/v1/conversations", new { title = "titled" }), HttpStatusCode.OK);
        await CheckAsync("/api/v1/conversations", "post", () => anonymous.PostRawAsync("/api/v1/conversations", null), HttpStatusCode.Unauthorized);
        var conversationId = conv.Body.GetProperty("conversation_id").GetString()!;

        // Messages: 202, 409 (busy conversation), 400, 401.
        var sent = await CheckAsync("/api/v1/messages", "post", () => client.PostJsonAsync("/api/v1/messages",
            SpecRequest(new { message = "hello", conversation_id = conversationId, model_key = (string?)null, run_mode = "fast", thinking_mode = false, max_iterations = 5 })),
            HttpStatusCode.Accepted);
        var task = sent.Body.GetProperty("task_id").GetString()!;
        await CheckAsync("/api/v1/messages", "post", () => client.PostJsonAsync("/api/v1/messages", SpecRequest(new { message = "again", conversation_id = conversationId })), HttpStatusCode.Conflict);
        await CheckAsync("/api/v1/messages", "post", () => client.PostJsonAsync("/api/v1/messages", new { message = "" }), HttpStatusCode.BadRequest);
        await CheckAsync("/api/v1/messages", "post", () => client.PostJsonAsync("/api/v1/messages", new { message = "x", extra = 1 }), HttpStatusCode.BadRequest);
        await CheckAsync("/api/v1/messages", "post", () => client.PostRawAsync("/api/v1/messages", "{"), HttpStatusCode.BadRequest);
        await CheckAsync("/api/v1/messages", "post", () => anonymous.PostJsonAsync("/api/v1/messages", new { message = "x" }), HttpStatusCode.Unauthorized);
        var fresh = await CheckAsync("/api/v1/messages", "post", () => client.PostJsonAsync("/api/v1/messages", SpecRequest(new { message = "new conversation", images = Array.Empty<string>() })), HttpStatusCode.Accepted);

        // Polling: running (no events yet, error null), then with events, from an offset, unknown task, no identity.
        await CheckAsync("/api/v1/tasks/{task_id}", "get", () => client.GetJsonAsync($"/api/v1/tasks/{task}"), HttpStatusCode.OK);
        await SimulatedWorker.InterruptAsync(api.Store, task);
        await CheckAsync("/api/v1/tasks/{task_id}", "get", () => client.GetJsonAsync($"/api/v1/tasks/{task}"), HttpStatusCode.OK);
        await client.PostJsonAsync($"/api/v1/tasks/{task}/resume", new { response_type = "accept" });
        await SimulatedWorker.CompleteAsync(api.Store, task);
        var done = await CheckAsync("/api/v1/tasks/{task_id}", "get", () => client.GetJsonAsync($"/api/v1/tasks/{task}"), HttpStatusCode.OK);
        Assert.Equal("completed", done.Body.GetProperty("data").GetProperty("status").GetString());
        Assert.True(done.Body.GetProperty("data").GetProperty("events").GetArrayLength() >= 5);
        await CheckAsync("/api/v1/tasks/{task_id}", "get", () => client.GetJsonAsync($"/api/v1/tasks/{task}?from=2"), HttpStatusCode.OK);
        var failed = fresh.Body.GetProperty("task_id").GetString()!;
        await SimulatedWorker.FailAsync(api.Store, failed, "boom");
        var error = await CheckAsync("/api/v1/tasks/{task_id}", "get", () => client.GetJsonAsync($"/api/v1/tasks/{failed}"), HttpStatusCode.OK);
        Assert.Equal("boom", error.Body.GetProperty("data").GetProperty("error").GetString());
        await CheckAsync("/api/v1/tasks/{task_id}", "get", () => client.GetJsonAsync("/api/v1/tasks/no-such-task"), HttpStatusCode.NotFound);
        await CheckAsync("/api/v1/tasks/{task_id}", "get", () => api.ClientFor("someone-else").GetJsonAsync($"/api/v1/tasks/{task}"), HttpStatusCode.NotFound);
        await CheckAsync("/api/v1/tasks/{task_id}", "get", () => anonymous.GetJsonAsync($"/api/v1/tasks/{task}"), HttpStatusCode.Unauthorized);

        // Cancel: a running task, a finished one (idempotent), an unknown one.
        var running = await client.PostJsonAsync("/api/v1/messages", new { message = "to cancel" });
        var runningId = running.Body.GetProperty("task_id").GetString()!;
        await CheckAsync("/api/v1/tasks/{task_id}/cancel", "post", () => client.PostRawAsync($"/api/v1/tasks/{runningId}/cancel", null), HttpStatusCode.OK);
        await CheckAsync("/api/v1/tasks/{task_id}/cancel", "post", () => client.PostRawAsync($"/api/v1/tasks/{task}/cancel", null), HttpStatusCode.OK);
        await CheckAsync("/api/v1/tasks/{task_id}/cancel", "post", () => client.PostRawAsync("/api/v1/tasks/no-such-task/cancel", null), HttpStatusCode.NotFound);
        await CheckAsync("/api/v1/tasks/{task_id}", "get", () => client.GetJsonAsync($"/api/v1/tasks/{runningId}"), HttpStatusCode.OK);

        Assert.True(_checked >= 20);
        Assert.Empty(_problems);
    }

    [Fact]
    public void Validator_RejectsBodiesThatDriftFromTheSpec()
    {
        JsonElement J(string json) => JsonElement.Parse(json);
        const string ok = """{"success":true,"task_id":"t","conversation_id":"c","status":"running","created_at":1.5}""";
        Assert.Empty(Spec.ValidateResponse("/api/v1/messages", "post", 202, "application/json", J(ok)));

        Assert.Contains(Spec.ValidateResponse("/api/v1/messages", "post", 202, "application/json", J("""{"success":true,"conversation_id":"c","status":"running","created_at":1.5}""")),
            e => e.Contains("required property 'task_id'"));
        Assert.Contains(Spec.ValidateResponse("/api/v1/messages", "post", 202, "application/json", J("""{"success":true,"task_id":"t","conversation_id":"c","status":"running","created_at":"now"}""")),
            e => e.Contains("$.created_at: expected number"));
        Assert.Contains(Spec.ValidateResponse("/api/v1/messages", "post", 201, "application/json", J(ok)), e => e.Contains("not declared"));
        Assert.Contains(Spec.ValidateResponse("/api/v1/messages", "post", 202, "text/plain", J(ok)), e => e.Contains("Content-Type"));
        // Nested: an event without its index, a non-nullable field that is null, a nullable one that is.
        Assert.Contains(Spec.ValidateResponse("/api/v1/tasks/{task_id}", "get", 200, "application/json",
                J("""{"success":true,"data":{"task_id":"t","status":"running","created_at":1,"updated_at":1,"error":null,"events":[{"type":"x","data":{},"ts":1}],"next_offset":1}}""")),
            e => e.Contains("$.data.events[0]: required property 'idx'"));
        Assert.Contains(Spec.ValidateResponse("/api/v1/tasks/{task_id}", "get", 200, "application/json",
                J("""{"success":true,"data":{"task_id":null,"status":"running","created_at":1,"updated_at":1,"error":null,"events":[],"next_offset":1.5}}""")),
            e => e.Contains("$.data.task_id: null"));
        Assert.Contains(Spec.ValidateResponse("/api/v1/tasks/{task_id}", "get", 200, "application/json",
                J("""{"success":true,"data":{"task_id":"t","status":"running","created_at":1,"updated_at":1,"error":null,"events":[],"next_offset":1.5}}""")),
            e => e.Contains("$.data.next_offset: expected integer"));
        // additionalProperties: false on the request.
        Assert.Contains(Spec.ValidateRequest("/api/v1/messages", "post", J("""{"message":"x","colour":"red"}""")), e => e.Contains("'colour' is not allowed"));
        Assert.Empty(Spec.ValidateRequest("/api/v1/messages", "post", J("""{"message":"x","model_key":null}""")));
    }
}
