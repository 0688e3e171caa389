using System.Net.Http.Headers;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>The README's first command: the embedded default as its own process, with the token it creates on first start.</summary>
public sealed class EmbeddedProcessTests
{
    [Fact]
    public async Task EmbeddedDefault_FirstStart_CreatesADevToken_AndRunsTheQuickstart()
    {
        var dir = Directory.CreateTempSubdirectory("agents-standalone-").FullName;
        try
        {
            await using var host = await ServiceProcess.StartAsync("Standalone", "Agents.Micro.Standalone",
                new Dictionary<string, string> { ["AGENTS_DATA_DIR"] = dir, ["LocalModel__ChunkDelayMs"] = "1" });
            var tokenFile = Path.Combine(dir, "dev-token");
            // The token is written by a hosted service that may finish just after the server answers /health/live.
            for (var i = 0; i < 100 && !File.Exists(tokenFile); i++) await Task.Delay(100);
            Assert.True(File.Exists(tokenFile), host.Output);
            Assert.Contains("dev-token", host.Output);

            using var c = new HttpClient { BaseAddress = new Uri(host.BaseUrl) };
            c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(tokenFile)).Trim());
            var conv = await c.PostJsonAsync("/api/v1/conversations", new { }, 200);
            var sent = await c.PostJsonAsync("/api/v1/messages", new { message = "hello from the quickstart", conversation_id = conv.GetProperty("conversation_id").GetString() }, 202);
            var t = await TaskPolling.PollAsync(c, sent.GetProperty("task_id").GetString()!);
            Assert.Equal("completed", t.Status);
            Assert.Contains("hello from the quickstart", t.Text());
            Assert.True(File.Exists(Path.Combine(dir, "agents.db")));
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
