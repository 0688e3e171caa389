using Agents.Micro.TestSupport;
using System.Text.Json;
using Agents.Micro.AgentWorker.Models;
using Agents.Micro.AgentWorker.Options;
using Agents.Micro.AgentWorker.Runtime;
using Agents.Micro.AgentWorker.Tests.Stub;
using Agents.Micro.AgentWorker.Tools;
using Agents.Micro.AgentWorker.Tools.Mcp;
using Agents.Micro.Contracts;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace Agents.Micro.AgentWorker.Tests;

/// <summary>
/// The agent loop against the stub provider, configured the way an operator would: <c>Models__…</c> environment
/// variables, a task in a SQLite task store, the event log the clients read.
/// </summary>
public sealed class OpenAiAgentLoopTests : IAsyncLifetime
{
    private readonly string _dbPath = Path.Combine(Path.GetTempPath(), $"agents-openai-{Guid.NewGuid():N}.db");
    private StubOpenAiServer _stub = null!;
    private SqlDatabase _db = null!;

    public async ValueTask InitializeAsync()
    {
        _stub = await StubOpenAiServer.StartAsync();
        _db = new SqlDatabase(new DatabaseOptions { Provider = "sqlite", ConnectionString = $"Data Source={_dbPath}" });
    }

    public async ValueTask DisposeAsync()
    {
        await _stub.DisposeAsync();
        await _db.DisposeAsync();
        TestEnv.DeleteSqlite(_dbPath);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The registry with the given built-in tools and no MCP servers.</summary>
    private static ToolRegistry NoMcpTools(IEnumerable<IAgentTool> tools) =>
        new(tools, new McpToolCatalog(MsOptions.Create(new McpOptions()), NullLoggerFactory.Instance),
            MsOptions.Create(new WorkerOptions { ApprovalRequiredTools = [] }), NullLogger<ToolRegistry>.Instance);

    [Fact]
    public async Task Loop_WithOpenAiProviderFromEnvironment_RoundTripsAToolCallAndCompletes()
    {
        // The provider is picked exactly as in production: environment variables bound to the Models section.
        var prefix = $"AGENTS_E2E_{Guid.NewGuid():N}_";
        var env = new Dictionary<string, string>
        {
            ["Models__Items__stub__Provider"] = "openai",
            ["Models__Items__stub__Endpoint"] = _stub.Endpoint,
            ["Models__Items__stub__Model"] = "stub-chat",
            ["Models__Items__stub__MaxRetries"] = "1",
            ["Models__Default"] = "stub",
        };
        foreach (var (k, v) in env) Environment.SetEnvironmentVariable(prefix + k, v);
        IChatModel model;
        try
        {
            var config = new ConfigurationBuilder().AddEnvironmentVariables(prefix).Build();
            var catalog = config.GetSection(ModelCatalogOptions.SectionName).Get<ModelCatalogOptions>()!;
            var factory = new ModelFactory(MsOptions.Create(catalog), MsOptions.Create(new LocalModelOptions()), NullLoggerFactory.Instance);
            model = factory.Create(null)!;
        }
        finally
        {
            foreach (var k in env.Keys) Environment.SetEnvironmentVariable(prefix + k, null);
        }
        Assert.IsType<OpenAiChatModel>(model);

        _stub.Then(Replies.Stream(
            [
                Delta.Text("Let me check. "),
                Delta.ToolStart(0, "call_w1", "get_weather"),
                .. Delta.Pieces("""{"city":"Paris"}""", 4).Select(p => Delta.ToolArgs(0, p)),
            ], finishReason: "tool_calls", promptTokens: 50, completionTokens: 10))
            .Then(Replies.Stream([Delta.Text("It is sunny "), Delta.Text("in Paris.")], promptTokens: 70, completionTokens: 6));

        var store = new SqlTaskStore(_db);
        await store.EnsureSchemaAsync(Ct);
        var now = UnixTime.Now();
        var options = new TaskOptions { Message = "weather in Paris?", ModelKey = "stub" };
        Assert.Equal(CreateTaskResult.Created, await store.CreateTaskAsync(new TaskRecord
        {
            Id = "task_e2e", ConversationId = "conv_e2e", UserId = "u1", Query = options.Message, Options = options.ToJson(),
            CreatedAt = now, UpdatedAt = now,
        }, createConversation: true, ct: Ct));
        var claimed = await store.TryClaimAsync("task_e2e", "worker-test", now + 60, now, Ct);
        Assert.NotNull(claimed);

        var state = new AgentState();
        state.Messages.Add(new ChatMessage { Role = ChatMessage.System, Content = "use tools" });
        state.OwnFrom = 1;
        state.Messages.Add(new ChatMessage { Role = ChatMessage.User, Content = options.Message });
        var tools = NoMcpTools([new WeatherTool()]);
        var eventLog = new EventLog(store, new TaskLease("task_e2e", claimed.Attempt, "worker-test"), 0);
        var loop = new AgentLoop(model, tools, eventLog, state, RunSettings.From(options), new ToolContext("u1", "task_e2e", "conv_e2e"), null);

        var outcome = await loop.RunAsync(null, Ct);

        Assert.Equal(LoopOutcome.Completed, outcome);
        var events = await store.ReadEventsAsync("task_e2e", 0, 1000, Ct);
        var types = events.Select(e => e.Type).ToList();
        Assert.Equal(EventTypes.TaskCompleted, types[^1]);
        Assert.True(types.IndexOf(EventTypes.ToolStart) < types.IndexOf(EventTypes.ToolEnd));
        var toolStart = JsonDocument.Parse(events.Single(e => e.Type == EventTypes.ToolStart).Data).RootElement;
        Assert.Equal("get_weather", toolStart.GetProperty("name").GetString());
        Assert.Equal("Paris", toolStart.GetProperty("arguments").GetProperty("city").GetString());
        var toolEnd = JsonDocument.Parse(events.Single(e => e.Type == EventTypes.ToolEnd).Data).RootElement;
        Assert.True(toolEnd.GetProperty("ok").GetBoolean());
        Assert.Equal("sunny, 24 C in Paris", toolEnd.GetProperty("result").GetString());
        var text = string.Concat(events.Where(e => e.Type == EventTypes.TextChunk)
            .Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("content").GetString()));
        Assert.Equal("Let me check. It is sunny in Paris.", text);

        var result = JsonDocument.Parse(events[^1].Data).RootElement.GetProperty("result");
        Assert.Equal("It is sunny in Paris.", result.GetProperty("text").GetString());
        Assert.Equal(120, result.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(16, result.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(Storage.Tasks.TaskStatus.Completed, (await store.GetTaskAsync("task_e2e", Ct))!.Status);

        // The second model call saw the assistant's tool call and the tool's answer, in OpenAI's shape.
        Assert.Equal(2, _stub.Requests.Count);
        var messages = _stub.Requests[1].Body.GetProperty("messages");
        var assistant = messages[2];
        Assert.Equal("call_w1", assistant.GetProperty("tool_calls")[0].GetProperty("id").GetString());
        Assert.Equal("""{"city":"Paris"}""", assistant.GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("tool", messages[3].GetProperty("role").GetString());
        Assert.Equal("call_w1", messages[3].GetProperty("tool_call_id").GetString());
        Assert.Equal("sunny, 24 C in Paris", messages[3].GetProperty("content").GetString());
        Assert.Equal("stub-chat", _stub.Requests[0].Body.GetProperty("model").GetString());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ThinkingModel_GetsItsToolCallReasoningBack_AsDeepSeekRequires(bool echo)
    {
        var definition = new ModelDefinition { Provider = "openai", Endpoint = _stub.Endpoint, Model = "stub-think", Thinking = true, EchoReasoning = echo, MaxRetries = 0 };
        var catalog = new ModelCatalogOptions { Default = "think" };
        catalog.Items["think"] = definition;
        var model = new ModelFactory(MsOptions.Create(catalog), MsOptions.Create(new LocalModelOptions()), NullLoggerFactory.Instance).Create("think")!;
        _stub.Then(Replies.Stream(
                [Delta.Reasoning("The user wants "), Delta.Reasoning("the weather."), Delta.ToolStart(0, "call_t1", "get_weather"), Delta.ToolArgs(0, """{"city":"Oslo"}""")],
                finishReason: "tool_calls"))
            .Then(Replies.Stream([Delta.Reasoning("Now answer."), Delta.Text("Snowy in Oslo.")]));

        var store = new SqlTaskStore(_db);
        await store.EnsureSchemaAsync(Ct);
        var now = UnixTime.Now();
        var taskId = "task_think_" + echo;
        var options = new TaskOptions { Message = "weather in Oslo?", ModelKey = "think", RunMode = "thinking" };
        await store.CreateTaskAsync(new TaskRecord
        {
            Id = taskId, ConversationId = "conv_" + taskId, UserId = "u1", Query = options.Message, Options = options.ToJson(), CreatedAt = now, UpdatedAt = now,
        }, createConversation: true, ct: Ct);
        var claimed = await store.TryClaimAsync(taskId, "w", now + 60, now, Ct);
        var state = new AgentState();
        state.Messages.Add(new ChatMessage { Role = ChatMessage.User, Content = options.Message });
        var tools = NoMcpTools([new WeatherTool()]);
        var loop = new AgentLoop(model, tools, new EventLog(store, new TaskLease(taskId, claimed!.Attempt, "w"), 0), state,
            RunSettings.From(options), new ToolContext("u1", taskId, "conv_" + taskId), null);

        Assert.Equal(LoopOutcome.Completed, await loop.RunAsync(null, Ct));
        var events = await store.ReadEventsAsync(taskId, 0, 1000, Ct);
        Assert.Equal(3, events.Count(e => e.Type == EventTypes.ThinkingChunk));

        var assistant = _stub.Requests[1].Body.GetProperty("messages")[1];
        Assert.Equal("call_t1", assistant.GetProperty("tool_calls")[0].GetProperty("id").GetString());
        if (echo) Assert.Equal("The user wants the weather.", assistant.GetProperty("reasoning_content").GetString());
        else Assert.False(assistant.TryGetProperty("reasoning_content", out _));
    }

    private sealed class WeatherTool : IAgentTool
    {
        public ToolSpec Spec { get; } = new("get_weather", "Current weather in a city",
            JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""").RootElement.Clone());

        public Task<ToolResult> ExecuteAsync(ToolContext context, JsonElement args, CancellationToken ct) =>
            Task.FromResult(new ToolResult(true, $"sunny, 24 C in {args.GetProperty("city").GetString()}"));
    }
}
