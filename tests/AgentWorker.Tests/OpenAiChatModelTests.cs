using System.Text.Json;
using Agents.Micro.AgentWorker.Models;
using Agents.Micro.AgentWorker.Tests.Stub;
using Agents.Micro.Contracts;
using Microsoft.Extensions.Logging.Abstractions;

namespace Agents.Micro.AgentWorker.Tests;

public sealed class OpenAiChatModelTests : IAsyncLifetime
{
    private static readonly JsonElement WeatherSchema = JsonDocument.Parse(
        """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""").RootElement.Clone();

    private StubOpenAiServer _stub = null!;

    public async ValueTask InitializeAsync() => _stub = await StubOpenAiServer.StartAsync();

    public async ValueTask DisposeAsync() => await _stub.DisposeAsync();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private OpenAiChatModel Model(bool vision = false, bool thinking = false, int maxRetries = 3, int timeoutSeconds = 30, string? apiKeyEnv = null) =>
        new(new ModelDefinition
        {
            Provider = "openai", Endpoint = _stub.Endpoint, Model = "test-model", ApiKeyEnv = apiKeyEnv,
            Vision = vision, Thinking = thinking, MaxRetries = maxRetries, TimeoutSeconds = timeoutSeconds,
        }, NullLogger<OpenAiChatModel>.Instance, retryDelay: TimeSpan.FromMilliseconds(10));

    private static ModelRequest Ask(string text, IReadOnlyList<ToolSpec>? tools = null, bool thinking = false, float? temperature = 0.3f,
        string? effort = null) =>
        new([new ChatMessage { Role = ChatMessage.System, Content = "be brief" }, new ChatMessage { Role = ChatMessage.User, Content = text }],
            tools ?? [], thinking, temperature, effort);

    private static async Task<List<ModelUpdate>> CollectAsync(IChatModel model, ModelRequest request)
    {
        var list = new List<ModelUpdate>();
        await foreach (var u in model.StreamAsync(request, Ct)) list.Add(u);
        return list;
    }

    private static string Texts(IEnumerable<ModelUpdate> updates) => string.Concat(updates.OfType<ModelUpdate.Text>().Select(t => t.Delta));

    [Fact]
    public async Task Stream_SeveralTextChunks_YieldsEachAsATextUpdateInOrder()
    {
        _stub.Then(Replies.Stream([Delta.Text("Hel"), Delta.Text("lo, "), Delta.Text("wor"), Delta.Text("ld!")]));

        var updates = await CollectAsync(Model(), Ask("hi"));

        Assert.Equal(["Hel", "lo, ", "wor", "ld!"], updates.OfType<ModelUpdate.Text>().Select(t => t.Delta));
        Assert.Empty(updates.OfType<ModelUpdate.ToolCalls>());
        var sent = Assert.Single(_stub.Requests).Body;
        Assert.Equal("/v1/chat/completions", _stub.Requests[0].Path);
        Assert.Equal("test-model", sent.GetProperty("model").GetString());
        Assert.True(sent.GetProperty("stream").GetBoolean());
        Assert.Equal(0.3, sent.GetProperty("temperature").GetDouble(), 3);
        var messages = sent.GetProperty("messages");
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        Assert.Equal("be brief", messages[0].GetProperty("content").GetString());
        Assert.Equal("user", messages[1].GetProperty("role").GetString());
    }

    [Fact]
    public async Task Stream_TagsTheCurrentSpanWithGenAiAttributes()
    {
        _stub.Then(Replies.Stream([Delta.Text("ok")]));
        using var span = new System.Diagnostics.Activity("model test-model").Start();

        await CollectAsync(Model(), Ask("hi"));

        Assert.Equal("openai", span.GetTagItem("gen_ai.system"));
        Assert.Equal("test-model", span.GetTagItem("gen_ai.request.model"));
        Assert.Equal(Replies.Model, span.GetTagItem("gen_ai.response.model"));
        Assert.Equal("stop", span.GetTagItem("gen_ai.response.finish_reasons"));
    }

    [Fact]
    public async Task Stream_Usage_IsRequestedAndReported()
    {
        _stub.Then(Replies.Stream([Delta.Text("ok")], promptTokens: 123, completionTokens: 45));

        var updates = await CollectAsync(Model(), Ask("hi"));

        Assert.True(_stub.Requests[0].Body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        var usage = Assert.Single(updates.OfType<ModelUpdate.Usage>());
        Assert.Equal(123, usage.InputTokens);
        Assert.Equal(45, usage.OutputTokens);
        Assert.Equal(0, usage.ReasoningTokens);
        Assert.IsType<ModelUpdate.Usage>(updates[^1]);
    }

    [Fact]
    public async Task Stream_ReasoningTokens_AreReportedApart()
    {
        _stub.Then(Replies.Stream([Delta.Text("ok")], promptTokens: 50, completionTokens: 300, reasoningTokens: 256));

        var usage = Assert.Single((await CollectAsync(Model(), Ask("think"))).OfType<ModelUpdate.Usage>());

        Assert.Equal((50, 300, 256), (usage.InputTokens, usage.OutputTokens, usage.ReasoningTokens));
    }

    [Fact]
    public async Task Stream_ToolCallSplitOverManyFragments_IsAssembledIntoExactJson()
    {
        const string args = """{"city": "Zürich, \"old town\"", "units": "metric", "days": [1, 2, 3]}""";
        _stub.Then(Replies.Stream([Delta.ToolStart(0, "call_abc123", "get_weather"), .. Delta.Pieces(args, 3).Select(p => Delta.ToolArgs(0, p))],
            finishReason: "tool_calls"));

        var updates = await CollectAsync(Model(), Ask("weather?", [new ToolSpec("get_weather", "Weather for a city", WeatherSchema)]));

        var calls = Assert.Single(updates.OfType<ModelUpdate.ToolCalls>()).Calls;
        var call = Assert.Single(calls);
        Assert.Equal("call_abc123", call.Id);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal(args, call.Arguments);
        Assert.Empty(updates.OfType<ModelUpdate.Text>());
    }

    [Fact]
    public async Task Stream_ToolsOffered_AreSentAsFunctionToolsWithTheirSchema()
    {
        _stub.Then(Replies.Stream([Delta.Text("no tools needed")]));

        await CollectAsync(Model(), Ask("hi", [new ToolSpec("get_weather", "Weather for a city", WeatherSchema)]));

        var tool = Assert.Single(_stub.Requests[0].Body.GetProperty("tools").EnumerateArray());
        Assert.Equal("function", tool.GetProperty("type").GetString());
        var function = tool.GetProperty("function");
        Assert.Equal("get_weather", function.GetProperty("name").GetString());
        Assert.Equal("Weather for a city", function.GetProperty("description").GetString());
        Assert.Equal(WeatherSchema.GetRawText(), function.GetProperty("parameters").GetRawText());
    }

    [Fact]
    public async Task Stream_TwoToolCallsInOneTurn_YieldsBothInOneUpdate()
    {
        _stub.Then(Replies.Stream(
        [
            Delta.ToolStart(0, "call_1", "get_weather"), Delta.ToolArgs(0, """{"ci"""), Delta.ToolArgs(0, """ty":"Paris"}"""),
            Delta.ToolStart(1, "call_2", "get_weather"), Delta.ToolArgs(1, """{"city":"""), Delta.ToolArgs(1, "\"Rome\"}"),
        ], finishReason: "tool_calls"));

        var updates = await CollectAsync(Model(), Ask("weather in Paris and Rome?", [new ToolSpec("get_weather", "w", WeatherSchema)]));

        var calls = Assert.Single(updates.OfType<ModelUpdate.ToolCalls>()).Calls;
        Assert.Equal(2, calls.Count);
        Assert.Equal(new ToolCall("call_1", "get_weather", """{"city":"Paris"}"""), calls[0]);
        Assert.Equal(new ToolCall("call_2", "get_weather", """{"city":"Rome"}"""), calls[1]);
    }

    [Fact]
    public async Task Stream_InterleavedToolCallFragments_AreAssembledByIndex()
    {
        _stub.Then(Replies.Stream(
        [
            Delta.ToolStart(0, "call_1", "a"), Delta.ToolStart(1, "call_2", "b"),
            Delta.ToolArgs(1, """{"y":"""), Delta.ToolArgs(0, """{"x":"""), Delta.ToolArgs(0, "1}"), Delta.ToolArgs(1, "2}"),
        ], finishReason: "tool_calls"));

        var updates = await CollectAsync(Model(), Ask("go"));

        var calls = Assert.Single(updates.OfType<ModelUpdate.ToolCalls>()).Calls;
        Assert.Equal([new ToolCall("call_1", "a", """{"x":1}"""), new ToolCall("call_2", "b", """{"y":2}""")], calls);
    }

    [Fact]
    public async Task Stream_429WithRetryAfterThenSuccess_SucceedsWithoutDuplicatedOutput()
    {
        _stub.Then(Replies.Error(429, "Rate limit reached", retryAfter: "0"))
             .Then(Replies.Stream([Delta.Text("one "), Delta.Text("two")]));

        var updates = await CollectAsync(Model(), Ask("hi"));

        Assert.Equal(2, _stub.Requests.Count);
        Assert.Equal(["one ", "two"], updates.OfType<ModelUpdate.Text>().Select(t => t.Delta));
        Assert.Single(updates.OfType<ModelUpdate.Usage>());
    }

    [Fact]
    public async Task Stream_RetryAfter_IsHonoured()
    {
        _stub.Then(Replies.Error(429, "slow down", retryAfter: "1")).Then(Replies.Stream([Delta.Text("ok")]));
        var started = System.Diagnostics.Stopwatch.StartNew();

        var updates = await CollectAsync(Model(), Ask("hi"));

        Assert.Equal("ok", Texts(updates));
        // The backoff alone would be ~10 ms here: the wait comes from the server's Retry-After.
        Assert.InRange(started.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Stream_500ThenSuccess_Succeeds()
    {
        _stub.Then(Replies.Error(500, "The server had an error while processing your request"))
             .Then(Replies.Error(503, "overloaded"))
             .Then(Replies.Stream([Delta.Text("fine")]));

        var updates = await CollectAsync(Model(), Ask("hi"));

        Assert.Equal(3, _stub.Requests.Count);
        Assert.Equal("fine", Texts(updates));
    }

    [Fact]
    public async Task Stream_ServerKeepsFailing_FailsAfterMaxRetriesWithTheStatus()
    {
        for (var i = 0; i < 5; i++) _stub.Then(Replies.Error(503, "overloaded"));

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => CollectAsync(Model(maxRetries: 2), Ask("hi")));

        Assert.Equal(3, _stub.Requests.Count);
        Assert.Equal(503, ex.Status);
        Assert.Contains("503", ex.Message);
        Assert.Contains("test-model", ex.Message);
        Assert.Contains("3 attempts", ex.Message);
    }

    [Fact]
    public async Task Stream_401_FailsAtOnceWithoutRetry()
    {
        _stub.Then(Replies.Error(401, "Incorrect API key provided")).Then(Replies.Stream([Delta.Text("never")]));

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => CollectAsync(Model(), Ask("hi")));

        Assert.Single(_stub.Requests);
        Assert.Equal(401, ex.Status);
        Assert.Contains("Incorrect API key provided", ex.Message);
    }

    [Fact]
    public async Task Stream_ConnectionDropsAfterText_FailsWithoutRetryingOrRepeatingText()
    {
        _stub.Then(Replies.TextThenDrop("partial ", "answer")).Then(Replies.Stream([Delta.Text("again")]));

        var seen = new List<ModelUpdate>();
        var ex = await Assert.ThrowsAsync<ModelCallException>(async () =>
        {
            await foreach (var u in Model().StreamAsync(Ask("hi"), Ct)) seen.Add(u);
        });

        Assert.Single(_stub.Requests);
        Assert.Equal("partial answer", Texts(seen));
        Assert.Contains("test-model", ex.Message);
    }

    [Fact]
    public async Task Stream_ConnectionDropsBeforeAnythingWasYielded_IsRetried()
    {
        // A tool-call turn yields nothing until it ends, so a drop in the middle of it can safely be retried.
        _stub.Then(Replies.Drop(Delta.ToolStart(0, "call_1", "get_weather"), Delta.ToolArgs(0, """{"ci""")))
             .Then(Replies.Stream([Delta.ToolStart(0, "call_2", "get_weather"), Delta.ToolArgs(0, """{"city":"Oslo"}""")], finishReason: "tool_calls"));

        var updates = await CollectAsync(Model(), Ask("weather?", [new ToolSpec("get_weather", "w", WeatherSchema)]));

        Assert.Equal(2, _stub.Requests.Count);
        var call = Assert.Single(Assert.Single(updates.OfType<ModelUpdate.ToolCalls>()).Calls);
        Assert.Equal(new ToolCall("call_2", "get_weather", """{"city":"Oslo"}"""), call);
    }

    [Fact]
    public async Task Stream_GarbageData_ThrowsAClearError()
    {
        _stub.Then(Replies.Raw("data: this is not json\n\ndata: [DONE]\n\n"));

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => CollectAsync(Model(), Ask("hi")));

        Assert.Contains("malformed stream", ex.Message);
        Assert.Single(_stub.Requests);
    }

    [Fact]
    public async Task Stream_TruncatedJson_ThrowsAClearError()
    {
        _stub.Then(Replies.Raw(
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n" +
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choi\n\n"));

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => CollectAsync(Model(), Ask("hi")));

        Assert.Contains("malformed stream", ex.Message);
    }

    [Fact]
    public async Task Stream_ErrorEventInTheStream_FailsWithTheProvidersMessage()
    {
        _stub.Then(Replies.Raw("data: {\"error\":{\"message\":\"This model's maximum context length is 8192 tokens\",\"type\":\"invalid_request_error\",\"code\":400}}\n\n"));

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => CollectAsync(Model(), Ask("hi")));

        Assert.Contains("maximum context length is 8192 tokens", ex.Message);
        Assert.Single(_stub.Requests);
    }

    [Fact]
    public async Task Stream_EndsWithoutFinishReason_ThrowsAClearError()
    {
        _stub.Then(Replies.Raw(
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"a\",\"arguments\":\"{\\\"x\"}}]},\"finish_reason\":null}]}\n\n"));

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => CollectAsync(Model(), Ask("hi")));

        Assert.Contains("no finish_reason", ex.Message);
    }

    [Fact]
    public async Task Stream_ThinkingModel_SendsReasoningEffortAndYieldsReasoningContentAsThinking()
    {
        // DeepSeek sends "reasoning_content":null next to the answer's content.
        _stub.Then(Replies.Stream([Delta.Reasoning("Let me "), Delta.Reasoning("think."), new() { ["content"] = "42", ["reasoning_content"] = null }]));

        var updates = await CollectAsync(Model(thinking: true), Ask("answer?", thinking: true, effort: "high"));

        Assert.Equal(["Let me ", "think."], updates.OfType<ModelUpdate.Thinking>().Select(t => t.Delta));
        Assert.Equal("42", Texts(updates));
        Assert.True(updates.FindIndex(u => u is ModelUpdate.Thinking) < updates.FindIndex(u => u is ModelUpdate.Text));
        Assert.Equal("high", _stub.Requests[0].Body.GetProperty("reasoning_effort").GetString());
        Assert.False(_stub.Requests[0].Body.TryGetProperty("temperature", out _));
    }

    [Fact]
    public async Task Stream_NonThinkingModel_SendsTemperatureInsteadOfReasoningEffort()
    {
        _stub.Then(Replies.Stream([Delta.Text("ok")]));

        await CollectAsync(Model(thinking: false), Ask("hi", thinking: true, temperature: 0.6f, effort: "medium"));

        Assert.False(_stub.Requests[0].Body.TryGetProperty("reasoning_effort", out _));
        Assert.Equal(0.6, _stub.Requests[0].Body.GetProperty("temperature").GetDouble(), 3);
    }

    [Fact]
    public async Task Stream_ImageForVisionModel_IsSentAsAnImagePart()
    {
        _stub.Then(Replies.Stream([Delta.Text("a red dot")]));
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3];
        var loaded = new List<string>();
        var request = new ModelRequest(
            [new ChatMessage { Role = ChatMessage.User, Content = "what is this?", Images = ["pics/dot.png"] }], [], false, null, null,
            (path, _) => { loaded.Add(path); return Task.FromResult<BinaryData?>(BinaryData.FromBytes(png)); });

        var updates = await CollectAsync(Model(vision: true), request);

        Assert.Equal("a red dot", Texts(updates));
        Assert.Equal(["pics/dot.png"], loaded);
        var content = _stub.Requests[0].Body.GetProperty("messages")[0].GetProperty("content");
        Assert.Equal("text", content[0].GetProperty("type").GetString());
        Assert.Equal("what is this?", content[0].GetProperty("text").GetString());
        Assert.Equal("image_url", content[1].GetProperty("type").GetString());
        Assert.Equal("data:image/png;base64," + Convert.ToBase64String(png), content[1].GetProperty("image_url").GetProperty("url").GetString());
    }

    [Fact]
    public async Task Stream_ImageForNonVisionModel_IsRefusedWithoutCallingTheProvider()
    {
        var request = new ModelRequest(
            [new ChatMessage { Role = ChatMessage.User, Content = "what is this?", Images = ["dot.png"] }], [], false, null, null,
            (_, _) => Task.FromResult<BinaryData?>(BinaryData.FromBytes([1, 2, 3])));

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => CollectAsync(Model(vision: false), request));

        Assert.Contains("model 'test-model' does not accept images", ex.Message);
        Assert.Empty(_stub.Requests);
    }

    [Fact]
    public async Task Stream_MissingImage_FailsClearly()
    {
        var request = new ModelRequest(
            [new ChatMessage { Role = ChatMessage.User, Content = "?", Images = ["gone.jpg"] }], [], false, null, null,
            (_, _) => Task.FromResult<BinaryData?>(null));

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => CollectAsync(Model(vision: true), request));

        Assert.Contains("gone.jpg", ex.Message);
    }

    [Fact]
    public async Task Stream_ToolExchange_IsSentBackInOpenAiShape()
    {
        _stub.Then(Replies.Stream([Delta.Text("It is sunny in Paris.")]));
        var request = new ModelRequest(
        [
            new ChatMessage { Role = ChatMessage.System, Content = "sys" },
            new ChatMessage { Role = ChatMessage.User, Content = "weather in Paris?" },
            new ChatMessage { Role = ChatMessage.Assistant, Content = "Checking.", ToolCalls = [new ToolCall("call_9", "get_weather", """{"city":"Paris"}""")] },
            new ChatMessage { Role = ChatMessage.Tool, ToolCallId = "call_9", Name = "get_weather", Content = "sunny, 24 C" },
        ], [new ToolSpec("get_weather", "w", WeatherSchema)], false, null, null);

        await CollectAsync(Model(), request);

        var messages = _stub.Requests[0].Body.GetProperty("messages");
        Assert.Equal(4, messages.GetArrayLength());
        var assistant = messages[2];
        Assert.Equal("assistant", assistant.GetProperty("role").GetString());
        var call = Assert.Single(assistant.GetProperty("tool_calls").EnumerateArray());
        Assert.Equal("call_9", call.GetProperty("id").GetString());
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("""{"city":"Paris"}""", call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Contains("Checking.", assistant.GetProperty("content").GetRawText());
        var tool = messages[3];
        Assert.Equal("tool", tool.GetProperty("role").GetString());
        Assert.Equal("call_9", tool.GetProperty("tool_call_id").GetString());
        Assert.Equal("sunny, 24 C", tool.GetProperty("content").GetString());
    }

    [Fact]
    public async Task Stream_ApiKeyFromEnvironment_IsSentAsBearerToken()
    {
        var env = "AGENTS_TEST_KEY_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(env, "sk-test-123");
        try
        {
            _stub.Then(Replies.Stream([Delta.Text("ok")]));
            await CollectAsync(Model(apiKeyEnv: env), Ask("hi"));
            Assert.Equal("Bearer sk-test-123", _stub.Requests[0].Authorization);
        }
        finally
        {
            Environment.SetEnvironmentVariable(env, null);
        }
    }

    [Fact]
    public async Task Stream_ApiKeyVariableNotSet_FailsNamingTheVariable()
    {
        var env = "AGENTS_TEST_MISSING_" + Guid.NewGuid().ToString("N");

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => CollectAsync(Model(apiKeyEnv: env), Ask("hi")));

        Assert.Contains(env, ex.Message);
        Assert.Empty(_stub.Requests);
    }

    [Fact]
    public async Task Stream_ProviderSilentLongerThanTimeout_FailsWithATimeout()
    {
        _stub.Then(Replies.Silence(TimeSpan.FromSeconds(10), Replies.Stream([Delta.Text("late")])));

        var ex = await Assert.ThrowsAsync<ModelCallException>(() => CollectAsync(Model(maxRetries: 0, timeoutSeconds: 1), Ask("hi")));

        Assert.Contains("timed out", ex.Message);
    }

    [Fact]
    public async Task Stream_CallerCancels_ThrowsOperationCanceled()
    {
        _stub.Then(Replies.Silence(TimeSpan.FromSeconds(10), Replies.Stream([Delta.Text("late")])));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in Model().StreamAsync(Ask("hi"), cts.Token)) { }
        });
        Assert.Single(_stub.Requests);
    }
}
