using System.Net.Http.Json;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>Workers as separate processes, each starting its own server-filesystem over stdio (from the same settings).</summary>
public sealed class McpWorkersFixture : DistributedFixture
{
    public string FilesDir { get; } = Directory.CreateTempSubdirectory("agents-mcp-dist-").FullName;

    protected override int WorkerCount => 1;

    protected override IEnumerable<(string Key, string Value)> WorkerSettings =>
        [.. McpTestServers.Stdio("fs", McpTestServers.Filesystem, FilesDir), .. McpTestServers.Stdio("everything", McpTestServers.Everything, "stdio")];

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        try { Directory.Delete(FilesDir, true); } catch (IOException) { }
    }
}

public sealed class McpDistributedTests(McpWorkersFixture fx) : IClassFixture<McpWorkersFixture>
{
    [Fact]
    public async Task AWorkerKilledMidCall_LeavesNoHalfResult_AndAnotherWorkerMakesTheCallAgain_UnderTheSameCallId()
    {
        var c = await fx.GatewayClientAsync("mcp-kill");
        var id = (await c.PostJsonAsync("/api/v1/messages", new { message = "call tool everything__trigger-long-running-operation with duration=10 steps=10" }, 202))
            .GetProperty("task_id").GetString()!;
        await TaskPolling.PollAsync(c, id, t => t.Types.Contains("tool_start"));
        var running = Assert.Single(fx.Workers, w => !w.HasExited);
        running.Kill();   // kill -9 of the worker and its server process, mid-call
        await running.WaitForExitAsync(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("tool_end", (await TaskPolling.PollAsync(c, id, _ => true)).Types);
        fx.Workers.Add(await fx.StartWorkerAsync());

        var done = await TaskPolling.PollAsync(c, id, timeout: TimeSpan.FromSeconds(90));
        Assert.Equal("completed", done.Status);
        var starts = done.Events.Where(e => e.GetProperty("type").GetString() == "tool_start").Select(e => e.GetProperty("data")).ToList();
        var end = Assert.Single(done.Events, e => e.GetProperty("type").GetString() == "tool_end").GetProperty("data");
        Assert.Equal(2, starts.Count);
        Assert.All(starts, s => Assert.Equal(end.GetProperty("call_id").GetString(), s.GetProperty("call_id").GetString()));
        Assert.True(end.GetProperty("ok").GetBoolean(), end.ToString());
        Assert.Contains("Long running operation completed", end.GetProperty("result").GetString());
        Assert.Contains("attempt_restarted", done.Types);
    }

    [Fact]
    public async Task ApprovedAfterItsWorkerIsGone_TheCallRunsOnAnotherWorker_ThroughThatWorkersOwnConnection()
    {
        var c = await fx.GatewayClientAsync("mcp-dist");
        var tools = await c.GetFromJsonAsync<JsonElement>("/api/v1/tools");
        Assert.Contains(tools.GetProperty("items").EnumerateArray(),
            t => t.GetProperty("name").GetString() == "fs__write_file" && t.GetProperty("needs_approval").GetBoolean());

        var asked = Path.Combine(fx.FilesDir, "asked.txt");
        var approved = Path.Combine(fx.FilesDir, "approved.txt");
        var id = (await c.PostJsonAsync("/api/v1/messages", new { message = $"call tool fs__write_file with path=\"{asked}\" content=draft" }, 202))
            .GetProperty("task_id").GetString()!;
        await TaskPolling.PollAsync(c, id, t => t.Status == "interrupted");

        // The worker that ran it (and its MCP server process) goes away; a new one, with its own connection, takes over.
        var first = Assert.Single(fx.Workers, w => !w.HasExited);
        fx.Workers.Add(await fx.StartWorkerAsync());
        first.Kill();
        await first.WaitForExitAsync(TimeSpan.FromSeconds(10));

        await c.PostJsonAsync($"/api/v1/tasks/{id}/resume", new { response_type = "edit", args = new { path = approved, content = "approved on the second worker" } }, 200);
        var done = await TaskPolling.PollAsync(c, id);
        Assert.Equal("completed", done.Status);
        var end = done.Events.Single(e => e.GetProperty("type").GetString() == "tool_end").GetProperty("data");
        Assert.True(end.GetProperty("ok").GetBoolean(), end.ToString());
        Assert.Equal("approved on the second worker", await File.ReadAllTextAsync(approved));
        Assert.False(File.Exists(asked));
    }
}
