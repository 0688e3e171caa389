using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>
/// The embedded default with real MCP servers from npm, none written here: server-everything over stdio (twice, set up
/// differently) and over Streamable HTTP (its own process, behind a proxy that records what reaches it),
/// server-filesystem over stdio, one address where nothing listens and one command that dies at once.
/// </summary>
public sealed class McpEmbeddedApp : EmbeddedApp
{
    public const string Secret = "mcp-secret-7f3a91";
    public const int MaxResultChars = 2000;
    public string FilesDir { get; } = Directory.CreateTempSubdirectory("agents-mcp-fs-").FullName;
    public McpHttpServer Http { get; private set; } = null!;
    public RecordingProxy Proxy { get; private set; } = null!;

    public override async ValueTask InitializeAsync()
    {
        // The worker runs in this process: these are its environment variables.
        Environment.SetEnvironmentVariable("AGENTS_TEST_MCP_SECRET", Secret);
        Environment.SetEnvironmentVariable("AGENTS_TEST_WORKER_ONLY", "worker-only-value");
        Http = await McpHttpServer.StartAsync();
        Proxy = await RecordingProxy.StartAsync(new Uri($"http://127.0.0.1:{Http.Port}"), "X-Agents-User-Id");
        await base.InitializeAsync();
    }

    protected override IEnumerable<(string Key, string Value)> Settings =>
    [
        .. McpTestServers.Stdio("everything", McpTestServers.Everything, "stdio"),
        ("Mcp:Servers:everything:Environment:PLAIN_SETTING", "plain-value"),
        ("Mcp:Servers:everything:EnvironmentFrom:API_TOKEN", "AGENTS_TEST_MCP_SECRET"),
        ("Mcp:Servers:everything:ToolApproval:get-sum", "always"),
        ("Mcp:Servers:everything:TimeoutSeconds", "3"),
        .. McpTestServers.Stdio("whoami", McpTestServers.Everything, "stdio"),
        ("Mcp:Servers:whoami:UserIdArgument", "message"),
        ("Mcp:Servers:whoami:AllowedTools:0", "echo"),
        .. McpTestServers.Stdio("fs", McpTestServers.Filesystem, FilesDir),
        ("Mcp:Servers:web:Url", Proxy.BaseUrl + "/mcp"),
        ("Mcp:Servers:web:Approval", "never"),
        ("Mcp:Servers:down:Url", $"http://127.0.0.1:{TestEnv.FreePort()}/mcp"),
        ("Mcp:Servers:broken:Command", "node"),
        ("Mcp:Servers:broken:Arguments:0", "/nonexistent/mcp-server.js"),
        ("Worker:MaxToolResultChars", MaxResultChars.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("Logging:LogLevel:Agents.Micro.AgentWorker.Mcp", "Warning"),
    ];

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Proxy.DisposeAsync();
        await Http.DisposeAsync();
        try { Directory.Delete(FilesDir, true); } catch (IOException) { }
    }
}

public sealed class McpToolTests(McpEmbeddedApp app) : IClassFixture<McpEmbeddedApp>
{
    private static async Task<string> SendAsync(HttpClient c, string message) =>
        (await c.PostJsonAsync("/api/v1/messages", new { message }, 202)).GetProperty("task_id").GetString()!;

    private static async Task<PolledTask> RunAsync(HttpClient c, string message) => await TaskPolling.PollAsync(c, await SendAsync(c, message));

    private static JsonElement ToolEnd(PolledTask t) => t.Events.Single(e => e.GetProperty("type").GetString() == "tool_end").GetProperty("data");

    private static async Task<JsonElement> ToolsAsync(HttpClient c)
    {
        var r = await c.GetAsync("/api/v1/tools");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return (await r.Content.ReadFromJsonAsync<JsonElement>());
    }

    private static JsonElement Tool(JsonElement list, string name) =>
        list.GetProperty("items").EnumerateArray().Single(t => t.GetProperty("name").GetString() == name);

    [Fact]
    public async Task ToolList_HasBuiltinAndMcpTools_WithTheirApproval_AndNamesTheServersThatAreDown()
    {
        var c = await app.ClientForAsync("mcp-lister");
        var list = await ToolsAsync(c);
        var names = list.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();

        Assert.Equal("builtin", Tool(list, "write_file").GetProperty("source").GetString());
        Assert.True(Tool(list, "write_file").GetProperty("needs_approval").GetBoolean());
        var echo = Tool(list, "everything__echo");
        Assert.Equal("mcp:everything", echo.GetProperty("source").GetString());
        Assert.False(echo.GetProperty("needs_approval").GetBoolean());   // auto: the server says it is read-only
        Assert.True(echo.GetProperty("read_only").GetBoolean());
        Assert.True(Tool(list, "everything__get-sum").GetProperty("needs_approval").GetBoolean());   // ToolApproval: always
        Assert.True(Tool(list, "fs__write_file").GetProperty("needs_approval").GetBoolean());        // auto, not read-only
        Assert.False(Tool(list, "fs__read_text_file").GetProperty("needs_approval").GetBoolean());
        Assert.False(Tool(list, "web__get-sum").GetProperty("needs_approval").GetBoolean());         // Approval: never
        Assert.Equal(["whoami__echo"], names.Where(n => n!.StartsWith("whoami__", StringComparison.Ordinal)));   // AllowedTools
        Assert.DoesNotContain(names, n => n!.StartsWith("down__", StringComparison.Ordinal) || n.StartsWith("broken__", StringComparison.Ordinal));
        var down = list.GetProperty("unavailable").EnumerateArray().ToDictionary(u => u.GetProperty("server").GetString()!, u => u.GetProperty("reason").GetString()!);
        Assert.Equal(["broken", "down"], down.Keys.Order());
        Assert.Contains("refused", down["down"], StringComparison.OrdinalIgnoreCase);
        // The schema the model is given: the server's, minus the argument the worker fills with the user's id.
        Assert.True(echo.GetProperty("parameters").GetProperty("properties").TryGetProperty("message", out _));
        Assert.False(Tool(list, "whoami__echo").GetProperty("parameters").GetProperty("properties").TryGetProperty("message", out _));
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateClient().GetAsync("/api/v1/tools")).StatusCode);
    }

    [Theory]
    [InlineData("everything")]   // stdio
    [InlineData("web")]          // Streamable HTTP
    public async Task McpTool_AskedForInPlainWords_RunsOnTheServer_AndItsResultIsInTheLogAndTheAnswer(string server)
    {
        var c = await app.ClientForAsync("mcp-echo-" + server);
        var t = await RunAsync(c, $"call tool {server}__echo with message=\"hello from {server}\"");
        Assert.Equal("completed", t.Status);
        var start = t.Events.Single(e => e.GetProperty("type").GetString() == "tool_start").GetProperty("data");
        Assert.Equal($"{server}__echo", start.GetProperty("name").GetString());
        Assert.Equal($"hello from {server}", start.GetProperty("arguments").GetProperty("message").GetString());
        var end = ToolEnd(t);
        Assert.True(end.GetProperty("ok").GetBoolean());
        Assert.Equal($"Echo: hello from {server}", end.GetProperty("result").GetString());
        Assert.Contains($"Echo: hello from {server}", t.Text());
    }

    [Fact]
    public async Task ToolNeedingApproval_Interrupts_AndTheServerReceivesTheEditedArguments()
    {
        var c = await app.ClientForAsync("mcp-approver");
        var original = Path.Combine(app.FilesDir, "original.txt");
        var edited = Path.Combine(app.FilesDir, "edited.txt");
        var id = await SendAsync(c, $"call tool fs__write_file with path=\"{original}\" content=\"first draft\"");
        var waiting = await TaskPolling.PollAsync(c, id, t => t.Status == "interrupted");
        var interrupt = waiting.Events.Last(e => e.GetProperty("type").GetString() == "interrupt").GetProperty("data");
        Assert.Equal("fs__write_file", interrupt.GetProperty("name").GetString());
        Assert.Equal(original, interrupt.GetProperty("arguments").GetProperty("path").GetString());
        Assert.False(File.Exists(original));

        await c.PostJsonAsync($"/api/v1/tasks/{id}/resume", new { response_type = "edit", args = new { path = edited, content = "the approved text" } }, 200);
        var done = await TaskPolling.PollAsync(c, id);
        Assert.Equal("completed", done.Status);
        Assert.True(ToolEnd(done).GetProperty("ok").GetBoolean(), ToolEnd(done).ToString());
        Assert.Equal("the approved text", await File.ReadAllTextAsync(edited));
        Assert.False(File.Exists(original));

        // Per tool: get-sum is read-only, yet configured to always ask; once accepted, it runs on the server.
        var sum = await SendAsync(c, "call tool everything__get-sum with a=2 b=3");
        await TaskPolling.PollAsync(c, sum, t => t.Status == "interrupted");
        await c.PostJsonAsync($"/api/v1/tasks/{sum}/resume", new { response_type = "accept" }, 200);
        var summed = await TaskPolling.PollAsync(c, sum);
        Assert.Equal("The sum of 2 and 3 is 5.", ToolEnd(summed).GetProperty("result").GetString());
    }

    [Fact]
    public async Task StdioServer_GetsItsSecretFromTheNamedVariable_ButNotTheWorkersOwnEnvironment()
    {
        var c = await app.ClientForAsync("mcp-env");
        var env = JsonDocument.Parse(ToolEnd(await RunAsync(c, "call tool everything__get-env")).GetProperty("result").GetString()!).RootElement;
        Assert.Equal(McpEmbeddedApp.Secret, env.GetProperty("API_TOKEN").GetString());
        Assert.Equal("plain-value", env.GetProperty("PLAIN_SETTING").GetString());
        Assert.False(env.TryGetProperty("AGENTS_TEST_WORKER_ONLY", out _));
        Assert.False(env.TryGetProperty("AGENTS_TEST_MCP_SECRET", out _));
        Assert.True(env.TryGetProperty("PATH", out _));
    }

    [Fact]
    public async Task NonTextAndHugeResults_BecomeBoundedText()
    {
        var c = await app.ClientForAsync("mcp-results");
        var image = ToolEnd(await RunAsync(c, "call tool everything__get-tiny-image"));
        Assert.True(image.GetProperty("ok").GetBoolean());
        Assert.Matches(@"\[image image/png, \d+ bytes, not shown\]", image.GetProperty("result").GetString());

        var big = Path.Combine(app.FilesDir, "big.txt");
        await File.WriteAllTextAsync(big, string.Concat(Enumerable.Repeat("0123456789", 20_000)));
        var huge = ToolEnd(await RunAsync(c, $"call tool fs__read_text_file with path=\"{big}\""));
        var text = huge.GetProperty("result").GetString()!;
        Assert.StartsWith("0123456789", text);
        Assert.InRange(text.Length, McpEmbeddedApp.MaxResultChars, McpEmbeddedApp.MaxResultChars + 100);
        Assert.Contains($"truncated at {McpEmbeddedApp.MaxResultChars} characters", text);
    }

    [Fact]
    public async Task ACallPastItsTimeout_IsAToolError_AndTheServerKeepsWorking()
    {
        var c = await app.ClientForAsync("mcp-slow");
        var t = await RunAsync(c, "call tool everything__trigger-long-running-operation with duration=60 steps=60");
        Assert.Equal("completed", t.Status);
        var end = ToolEnd(t);
        Assert.False(end.GetProperty("ok").GetBoolean());
        Assert.Contains("timed out after 3 s", end.GetProperty("result").GetString());
        Assert.Equal("Echo: still here", ToolEnd(await RunAsync(c, "call tool everything__echo with message=\"still here\"")).GetProperty("result").GetString());
    }

    [Theory]
    [InlineData("down", "refused")]
    [InlineData("broken", "exited")]
    public async Task AServerDownSinceStartUp_GivesTheTaskAClearToolError(string server, string reason)
    {
        var c = await app.ClientForAsync("mcp-down-" + server);
        var t = await RunAsync(c, $"call tool {server}__anything");
        Assert.Equal("completed", t.Status);
        var result = ToolEnd(t).GetProperty("result").GetString()!;
        Assert.StartsWith($"ERROR: the MCP server '{server}' is unavailable:", result);
        Assert.Contains(reason, result, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task TheCallingUser_ReachesTheServer_AsAHeader_AndAsTheConfiguredArgument()
    {
        foreach (var user in new[] { "mcp-alice", "mcp-bob" })
        {
            var c = await app.ClientForAsync(user);
            Assert.True(ToolEnd(await RunAsync(c, $"call tool web__echo with message=\"from {user}\"")).GetProperty("ok").GetBoolean());
            var call = app.Proxy.Requests.Single(r => r.Body.Contains("\"tools/call\"", StringComparison.Ordinal) && r.Body.Contains($"from {user}", StringComparison.Ordinal));
            Assert.Equal(user, call.Header);
            Assert.Contains($"\"agents.micro/user_id\":\"{user}\"", call.Body);

            // The model tries to write the argument itself: the worker puts the caller's id there.
            var who = ToolEnd(await RunAsync(c, "call tool whoami__echo with message=somebody-else"));
            Assert.Equal($"Echo: {user}", who.GetProperty("result").GetString());
        }
        // The session's other requests (initialize, tools/list) carry no user.
        Assert.Contains(app.Proxy.Requests, r => r.Body.Contains("\"initialize\"", StringComparison.Ordinal) && r.Header is null);
        Assert.All(app.Proxy.Requests.Where(r => r.Body.Contains("\"tools/list\"", StringComparison.Ordinal)), r => Assert.Null(r.Header));
    }

    [Fact]
    public async Task CancellingATask_StopsItsCallInFlight()
    {
        var c = await app.ClientForAsync("mcp-cancel");
        var id = await SendAsync(c, "call tool web__trigger-long-running-operation with duration=120 steps=120");
        await TaskPolling.PollAsync(c, id, t => t.Types.Contains("tool_start"));
        await c.PostJsonAsync($"/api/v1/tasks/{id}/cancel", new { }, 200);
        var done = await TaskPolling.PollAsync(c, id, timeout: TimeSpan.FromSeconds(30));
        Assert.Equal("cancelled", done.Status);
        Assert.DoesNotContain("tool_end", done.Types);
        // The server is told: over Streamable HTTP a request is cancelled by abandoning it (stdio sends notifications/cancelled).
        var call = app.Proxy.Requests.Single(r => r.Body.Contains("\"tools/call\"", StringComparison.Ordinal) && r.Body.Contains("\"duration\":120", StringComparison.Ordinal) && r.Header == "mcp-cancel");
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!call.Aborted)
        {
            Assert.True(DateTime.UtcNow < until, "the tools/call request to the server was not abandoned after the cancel");
            await Task.Delay(50);
        }
        Assert.Equal("Echo: after cancel", ToolEnd(await RunAsync(c, "call tool web__echo with message=\"after cancel\"")).GetProperty("result").GetString());
    }

    [Fact]
    public async Task AServerThatDiesMidCall_GivesAToolError_AndIsUsedAgainOnceItIsBack()
    {
        var c = await app.ClientForAsync("mcp-crash");
        var id = await SendAsync(c, "call tool web__trigger-long-running-operation with duration=120 steps=120");
        await TaskPolling.PollAsync(c, id, t => t.Types.Contains("tool_start"));
        await app.Http.KillAsync();
        var done = await TaskPolling.PollAsync(c, id, timeout: TimeSpan.FromSeconds(30));
        Assert.Equal("completed", done.Status);
        var end = ToolEnd(done);
        Assert.False(end.GetProperty("ok").GetBoolean());
        var error = end.GetProperty("result").GetString()!;
        Assert.True(error.StartsWith("ERROR: the MCP server 'web' failed during the call", StringComparison.Ordinal), error);

        await app.Http.RestartAsync();
        var until = DateTime.UtcNow.AddSeconds(60);
        while (!(await ToolsAsync(c)).GetProperty("items").EnumerateArray().Any(t => t.GetProperty("name").GetString() == "web__echo"))
        {
            Assert.True(DateTime.UtcNow < until, "the worker did not reconnect to the restarted server within 60 s");
            await Task.Delay(200);
        }
        Assert.Equal("Echo: back", ToolEnd(await RunAsync(c, "call tool web__echo with message=back")).GetProperty("result").GetString());
    }
}
