using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Compose.Tests;

/// <summary>What a user of the deployment does first, through the gateway's published port: health, a token, a task.</summary>
public sealed class FlowTests
{
    [Fact]
    public async Task EveryContainerIsHealthy_AndTheGatewayReadinessNamesEachDependency()
    {
        var containers = await Deployment.WaitHealthyAsync();
        foreach (var service in Deployment.AppServices.Concat(["postgres", "rabbitmq", "minio", "dashboard"]))
            Assert.Contains(containers, c => c.Service == service);
        // Every .NET service image carries its own health check (the Dockerfile's), and it passes; none runs as root.
        Assert.All(containers.Where(c => Deployment.AppServices.Contains(c.Service)), c =>
        {
            Assert.Equal("healthy", c.Health);
            Assert.True(c.User is not ("" or "root" or "0"), $"{c.Name} runs as root");
        });
        Assert.Equal(3, containers.Count(c => c.Service == "agent-worker"));

        using var http = Deployment.Client();
        using var ready = await http.GetAsync("/health/ready");
        var body = await ready.Content.ReadAsStringAsync();
        Assert.True(ready.StatusCode == HttpStatusCode.OK, body);
        var checks = JsonDocument.Parse(body).RootElement.GetProperty("checks");
        foreach (var dependency in new[] { "database", "taskapi", "files", "memory" })
            Assert.Equal("Healthy", checks.GetProperty(dependency).GetProperty("status").GetString());
        // That was with an admin token; from outside without one, only the status (and no Server header).
        using var anonymous = new HttpClient { BaseAddress = Deployment.Gateway };
        using var plain = await anonymous.GetAsync("/health/ready");
        Assert.Equal("""{"status":"Healthy"}""", await plain.Content.ReadAsStringAsync());
        Assert.False(plain.Headers.Contains("Server"));
    }

    [Fact]
    public async Task TokenMadeWithComposeRun_WorksAtOnce()
    {
        var user = "alice-" + Guid.NewGuid().ToString("N")[..6];
        var made = (await Deployment.ComposeAsync("run", "--rm", "-T", "gateway", "tokens", "create", "--user", user)).Ok("tokens create");
        var token = made.Out.Trim().Split('\n').Last().Trim();
        Assert.StartsWith("am_", token);

        using var http = Deployment.Client(token);
        var conv = await http.PostJsonAsync("/api/v1/conversations", new { }, 200);
        Assert.False(string.IsNullOrEmpty(conv.GetProperty("conversation_id").GetString()));
        using var wrong = Deployment.Client(token + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/api/v1/conversations")).StatusCode);
    }

    [Fact]
    public async Task Message_WritesAFileAfterApproval_FileDownloads_MemoryIsRecalled_StreamEnds()
    {
        await Deployment.WaitHealthyAsync();
        using var http = Deployment.Client();
        var conv = (await http.PostJsonAsync("/api/v1/conversations", new { }, 200)).GetProperty("conversation_id").GetString()!;
        var content = "compose 部署 " + Guid.NewGuid().ToString("N");
        var path = $"compose/{Guid.NewGuid():N}.txt";
        var sent = await http.PostJsonAsync("/api/v1/messages", new { message = $"write file {path} with {content}", conversation_id = conv }, 202);
        var id = sent.GetProperty("task_id").GetString()!;

        var waiting = await TaskPolling.PollAsync(http, id, t => t.Status == "interrupted", TimeSpan.FromSeconds(60));
        Assert.Equal("write_file", waiting.Events.Last(e => e.GetProperty("type").GetString() == "interrupt").GetProperty("data").GetProperty("name").GetString());
        await http.PostJsonAsync($"/api/v1/tasks/{id}/resume", new { response_type = "accept" }, 200);
        var done = await TaskPolling.PollAsync(http, id, timeout: TimeSpan.FromSeconds(60));
        Assert.Equal("completed", done.Status);
        Assert.Equal("task_completed", done.Types.Last());

        // The file the agent wrote comes back byte for byte through the gateway and FileService (MinIO's S3 API).
        using var download = await http.GetAsync($"/api/v1/files/download?path={Uri.EscapeDataString(path)}");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(Encoding.UTF8.GetBytes(content), await download.Content.ReadAsByteArrayAsync());

        // A memory written in one conversation is recalled in a new one (MemoryService over RabbitMQ).
        var fact = "my compose colour is teal" + Guid.NewGuid().ToString("N")[..6];
        var remember = await http.PostJsonAsync("/api/v1/messages", new { message = $"remember that {fact}" }, 202);
        Assert.Equal("completed", (await TaskPolling.PollAsync(http, remember.GetProperty("task_id").GetString()!, timeout: TimeSpan.FromSeconds(60))).Status);
        var recall = await http.PostJsonAsync("/api/v1/messages", new { message = "what do you remember about my compose colour?" }, 202);
        Assert.NotEqual(remember.GetProperty("conversation_id").GetString(), recall.GetProperty("conversation_id").GetString());
        var recalled = await TaskPolling.PollAsync(http, recall.GetProperty("task_id").GetString()!, timeout: TimeSpan.FromSeconds(60));
        Assert.Contains(fact, recalled.Text());

        // A task's SSE stream delivers every event and ends at the terminal one.
        var counted = await http.PostJsonAsync("/api/v1/messages", new { message = "count to 40" }, 202);
        var countedId = counted.GetProperty("task_id").GetString()!;
        using var streamRequest = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/tasks/{countedId}/events");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var stream = await http.SendAsync(streamRequest, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        var types = new List<string>();
        await foreach (var item in SseParser.Create(await stream.Content.ReadAsStreamAsync(cts.Token)).EnumerateAsync(cts.Token))
            if (item.Data.Length > 0) types.Add(item.EventType);   // "retry:" alone carries no event
        Assert.Equal("task_started", types[0]);
        Assert.Equal("task_completed", types[^1]);
        Assert.Equal((await TaskPolling.PollAsync(http, countedId)).Types, types);
    }
}
