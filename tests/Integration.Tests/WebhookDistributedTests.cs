using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>Gateway, TaskApi and a worker as processes on PostgreSQL and RabbitMQ, with webhooks to local receivers.</summary>
public class WebhookDistributedFixture : DistributedFixture
{
    protected override int WorkerCount => 1;

    protected override IEnumerable<(string Key, string Value)> TaskApiSettings =>
        [.. WebhookApp.LocalReceivers, ("Webhooks:FirstRetrySeconds", "0.5"), ("Webhooks:MaxRetryIntervalSeconds", "1"), ("Webhooks:TimeoutSeconds", "20")];
}

/// <summary>Its own deployment: its test kills the TaskApi.</summary>
public sealed class WebhookFailoverFixture : WebhookDistributedFixture;

/// <summary>
/// Webhooks on the production topology: the deliveries are written by the worker's commit (PostgreSQL), sent by
/// TaskApi, never in a task's way, and a TaskApi that dies mid-retry leaves them to the next one.
/// </summary>
public sealed class WebhookDistributedTests(WebhookDistributedFixture fx) : IClassFixture<WebhookDistributedFixture>
{
    private static async Task<string> SendAsync(HttpClient c, object body) =>
        (await c.PostJsonAsync("/api/v1/messages", body, 202)).GetProperty("task_id").GetString()!;

    [Fact]
    public async Task AReceiverThatHoldsItsRequest_NeverSlowsTheTasks_AndEveryEventArrivesSigned()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        receiver.Answer = async (n, ctx) =>
        {
            if (n == 1) await release.Task.WaitAsync(TimeSpan.FromSeconds(60)); // the first request hangs until the test lets it go
            ctx.Response.StatusCode = 200;
        };
        var c = await fx.GatewayClientAsync("hook-dist");
        await receiver.RegisterAsync(c);

        var first = await SendAsync(c, new { message = "hello" });
        Assert.Equal("completed", (await TaskPolling.PollAsync(c, first)).Status);
        await receiver.WaitForAsync(1);
        // While that request hangs, more tasks run to their end: an interrupt, a cancel by TaskApi, a completion.
        var writer = await SendAsync(c, new { message = "write file d.txt with x" });
        await TaskPolling.PollAsync(c, writer, t => t.Status == "interrupted");
        await c.PostJsonAsync($"/api/v1/tasks/{writer}/cancel", new { }, 200);
        var second = await SendAsync(c, new { message = "hello again" });
        Assert.Equal("completed", (await TaskPolling.PollAsync(c, second)).Status);
        Assert.False(release.Task.IsCompleted);

        var got = await receiver.WaitForAsync(4);
        release.SetResult();
        Assert.All(got, r => Assert.True(r.Verified, r.VerifyError));
        var seen = got.Select(r => (r.Type, r.Data.GetProperty("task_id").GetString())).ToHashSet();
        Assert.Superset(new HashSet<(string, string?)> { ("task.completed", first), ("task.interrupted", writer), ("task.cancelled", writer), ("task.completed", second) }, seen);
        Assert.Equal(4, got.Select(r => r.Id).Distinct().Count());
    }
}

/// <summary>Deliveries live in the database: a TaskApi that dies between attempts leaves them to the next one.</summary>
public sealed class WebhookFailoverTests(WebhookFailoverFixture fx) : IClassFixture<WebhookFailoverFixture>
{
    [Fact]
    public async Task ATaskApiKilledBetweenAttempts_LeavesTheDeliveryToAnother_WhichSendsTheSameMessage()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = (n, ctx) => { ctx.Response.StatusCode = n <= 3 ? 500 : 200; return Task.CompletedTask; };
        var c = await fx.GatewayClientAsync("hook-failover");
        await receiver.RegisterAsync(c);
        var id = (await c.PostJsonAsync("/api/v1/messages", new { message = "hello" }, 202)).GetProperty("task_id").GetString()!;
        Assert.Equal("completed", (await TaskPolling.PollAsync(c, id)).Status);

        await receiver.WaitForAsync(2);
        fx.TaskApi.Kill();
        await using var successor = await fx.StartTaskApiAsync();
        var all = await receiver.WaitForAsync(4, timeout: TimeSpan.FromSeconds(60));
        Assert.Single(all.Select(r => r.Id).Distinct());
        Assert.Single(all.Select(r => r.Body).Distinct());
        Assert.All(all, r => Assert.True(r.Verified, r.VerifyError));
    }
}
