using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>Signed task webhooks, end to end on the embedded default: what a receiver gets and what the user sees.</summary>
public sealed class WebhookTests(WebhookApp app) : IClassFixture<WebhookApp>
{
    private static async Task<string> SendAsync(HttpClient c, object body) =>
        (await c.PostJsonAsync("/api/v1/messages", body, 202)).GetProperty("task_id").GetString()!;

    private static async Task<JsonElement> DeliveriesAsync(HttpClient c, string webhookId) =>
        (await c.GetFromJsonAsync<JsonElement>($"/api/v1/webhooks/{webhookId}/deliveries")).GetProperty("items");

    [Fact]
    public async Task ACompletedTask_IsPostedOnce_SignedPerStandardWebhooks_AndLogged()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var c = await app.ClientForAsync("hook-done");
        var (hook, secret) = await receiver.RegisterAsync(c, new { description = "ci" });
        Assert.StartsWith("whsec_", secret);
        // The secret is shown once: never in a listing or a read.
        var listed = await c.GetStringAsync("/api/v1/webhooks");
        Assert.Contains(hook, listed);
        Assert.DoesNotContain(secret, listed);
        Assert.DoesNotContain(secret, await c.GetStringAsync($"/api/v1/webhooks/{hook}"));

        var sent = await c.PostJsonAsync("/api/v1/messages", new { message = "hello" }, 202);
        var id = sent.GetProperty("task_id").GetString()!;
        var done = await TaskPolling.PollAsync(c, id);
        Assert.Equal("completed", done.Status);

        var got = Assert.Single(await receiver.WaitForAsync(1));
        Assert.True(got.Verified, got.VerifyError);
        Assert.Equal("task.completed", got.Type);
        Assert.Equal(id, got.Data.GetProperty("task_id").GetString());
        Assert.Equal(sent.GetProperty("conversation_id").GetString(), got.Data.GetProperty("conversation_id").GetString());
        Assert.Equal("completed", got.Data.GetProperty("status").GetString());
        Assert.Equal(done.Events.Count - 1, got.Data.GetProperty("event_index").GetInt64());
        Assert.Equal($"/api/v1/tasks/{id}", got.Data.GetProperty("log_url").GetString());
        Assert.InRange(long.Parse(got.Timestamp), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        // What the log link says is what the client sees.
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync(got.Data.GetProperty("log_url").GetString())).StatusCode);

        var log = Assert.Single((await DeliveriesAsync(c, hook)).EnumerateArray());
        Assert.Equal(got.Id, log.GetProperty("message_id").GetString());
        Assert.Equal("delivered", log.GetProperty("status").GetString());
        Assert.Equal(id, log.GetProperty("task_id").GetString());
        var attempt = Assert.Single(log.GetProperty("attempt_log").EnumerateArray());
        Assert.Equal(204, attempt.GetProperty("status_code").GetInt32());
        Assert.True(attempt.GetProperty("latency_ms").GetDouble() >= 0);
    }

    [Fact]
    public async Task AReceiverThatFailsFiveTimes_GetsTheSameMessageSixTimes_WithGrowingWaits_ThenItIsDelivered()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = (n, ctx) => { ctx.Response.StatusCode = n <= 5 ? 503 : 200; return Task.CompletedTask; };
        var c = await app.ClientForAsync("hook-flaky");
        var (hook, _) = await receiver.RegisterAsync(c);
        var id = await SendAsync(c, new { message = "hello" });
        Assert.Equal("completed", (await TaskPolling.PollAsync(c, id)).Status);

        var all = await receiver.WaitForAsync(6);
        Assert.All(all, r => Assert.True(r.Verified, r.VerifyError));
        Assert.Single(all.Select(r => r.Id).Distinct());
        Assert.Single(all.Select(r => r.Body).Distinct());
        // Waits of 0.2 s doubling (±10 %): the sixth attempt is at least 0.9 × (0.2 + 0.4 + 0.8 + 1.6 + 3.2) s after the first.
        Assert.True(all[5].At - all[0].At >= TimeSpan.FromSeconds(5.5), $"{(all[5].At - all[0].At).TotalSeconds:0.00} s");

        var log = await WaitForStatusAsync(c, hook, "delivered");
        var attempts = log.GetProperty("attempt_log").EnumerateArray().ToList();
        Assert.Equal(6, attempts.Count);
        Assert.All(attempts.Take(5), a => Assert.Equal((503, "the receiver answered 503"), (a.GetProperty("status_code").GetInt32(), a.GetProperty("error").GetString())));
        Assert.Equal(200, attempts[5].GetProperty("status_code").GetInt32());
        Assert.Equal(6, log.GetProperty("attempts").GetInt64());
    }

    [Fact]
    public async Task InterruptedCancelledAndFailedTasks_AreAnnounced_ToTheEndpointsThatWantThem()
    {
        await using var everything = await WebhookReceiver.StartAsync();
        await using var completedOnly = await WebhookReceiver.StartAsync();
        var c = await app.ClientForAsync("hook-kinds");
        await everything.RegisterAsync(c);
        var (narrow, _) = await completedOnly.RegisterAsync(c, new { events = new[] { "task.completed" } });

        var id = await SendAsync(c, new { message = "write file hook.txt with x" });
        await TaskPolling.PollAsync(c, id, t => t.Status == "interrupted");
        var interrupted = Assert.Single(await everything.WaitForAsync(1));
        Assert.Equal(("task.interrupted", "interrupted", id), (interrupted.Type, interrupted.Data.GetProperty("status").GetString(), interrupted.Data.GetProperty("task_id").GetString()));
        await c.PostJsonAsync($"/api/v1/tasks/{id}/cancel", new { }, 200);
        var cancelled = (await everything.WaitForAsync(2))[1];
        Assert.Equal("task.cancelled", cancelled.Type);
        Assert.NotEqual(interrupted.Id, cancelled.Id);

        // A model that cannot be reached fails the task.
        var failing = await SendAsync(c, new { message = "hello", model_key = "vision" });
        Assert.Equal("error", (await TaskPolling.PollAsync(c, failing)).Status);
        var failed = (await everything.WaitForAsync(3))[2];
        Assert.Equal(("task.failed", "error", failing), (failed.Type, failed.Data.GetProperty("status").GetString(), failed.Data.GetProperty("task_id").GetString()));
        Assert.False(string.IsNullOrEmpty(failed.Data.GetProperty("error").GetString()));

        // The completed-only endpoint was owed none of these: its log (written with each transition) is empty.
        Assert.Empty((await DeliveriesAsync(c, narrow)).EnumerateArray());
        Assert.Empty(completedOnly.Requests);
    }

    [Fact]
    public async Task WebhookUrl_SendsOneTasksEvents_ToAnEndpointThatTakesNoOtherTasks()
    {
        await using var all = await WebhookReceiver.StartAsync();
        await using var named = await WebhookReceiver.StartAsync();
        var c = await app.ClientForAsync("hook-named");
        await all.RegisterAsync(c);
        var (namedHook, _) = await named.RegisterAsync(c, new { all_tasks = false });

        var plain = await SendAsync(c, new { message = "hello" });
        await all.WaitForAsync(1, r => r.Data.GetProperty("task_id").GetString() == plain);
        Assert.Empty((await DeliveriesAsync(c, namedHook)).EnumerateArray());

        var chosen = await SendAsync(c, new { message = "hello", webhook_url = named.Url });
        var got = Assert.Single(await named.WaitForAsync(1));
        Assert.Equal(chosen, got.Data.GetProperty("task_id").GetString());
        Assert.True(got.Verified, got.VerifyError);

        // The agent API takes it too.
        var agentTask = "hook-agent-" + Guid.NewGuid().ToString("N")[..8];
        await c.PostJsonAsync("/agent/invoke", new { user_id = "hook-named", session_id = "s-hook", task_id = agentTask, query = "hello", webhook_url = named.Url }, 200);
        var viaAgent = (await named.WaitForAsync(2))[1];
        Assert.Equal(agentTask, viaAgent.Data.GetProperty("task_id").GetString());
        Assert.Equal("agent", viaAgent.Data.GetProperty("api").GetString());
        Assert.Equal($"/agent/status/hook-named/s-hook/{agentTask}", viaAgent.Data.GetProperty("log_url").GetString());
    }

    [Fact]
    public async Task SendAgain_PostsTheSameMessageAgain_AndRedirectsAreNeverFollowed()
    {
        await using var target = await WebhookReceiver.StartAsync("/metadata");
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = (n, ctx) =>
        {
            if (n == 1) ctx.Response.Redirect(target.Url); // a receiver that tries to send the sender elsewhere
            else ctx.Response.StatusCode = 200;
            return Task.CompletedTask;
        };
        var c = await app.ClientForAsync("hook-again");
        var (hook, _) = await receiver.RegisterAsync(c);
        var id = await SendAsync(c, new { message = "hello" });
        await TaskPolling.PollAsync(c, id);
        var first = await receiver.WaitForAsync(2);
        Assert.Equal(first[0].Id, first[1].Id);
        var log = await WaitForStatusAsync(c, hook, "delivered");
        Assert.Equal("redirects are not followed: the endpoint's URL must answer itself",
            log.GetProperty("attempt_log")[0].GetProperty("error").GetString());
        Assert.Empty(target.Requests);

        var resend = await c.PostJsonAsync($"/api/v1/webhooks/{hook}/deliveries/{log.GetProperty("delivery_id").GetString()}/resend", new { }, 202);
        Assert.Equal("pending", resend.GetProperty("status").GetString());
        var again = (await receiver.WaitForAsync(3))[2];
        Assert.Equal(first[0].Id, again.Id);
        Assert.Equal(first[0].Body, again.Body);
        Assert.True(again.Verified, again.VerifyError);
    }

    [Fact]
    public async Task Endpoints_BelongToTheirUser_BadInputIsRefused_AndDeleteStopsDeliveries()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var owner = await app.ClientForAsync("hook-owner");
        var other = await app.ClientForAsync("hook-other");
        var (hook, _) = await receiver.RegisterAsync(owner);

        foreach (var path in new[] { $"/api/v1/webhooks/{hook}", $"/api/v1/webhooks/{hook}/deliveries" })
            Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.DeleteAsync($"/api/v1/webhooks/{hook}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsJsonAsync($"/api/v1/webhooks/{hook}/deliveries/x/resend", new { })).StatusCode);
        Assert.DoesNotContain(hook, await other.GetStringAsync("/api/v1/webhooks"));
        // Another user's URL is not theirs to name.
        var stolen = await other.PostAsJsonAsync("/api/v1/messages", new { message = "hi", webhook_url = receiver.Url });
        Assert.Equal(HttpStatusCode.BadRequest, stolen.StatusCode);
        Assert.Contains("register it first", await stolen.Content.ReadAsStringAsync());
        Assert.Empty((await other.GetFromJsonAsync<JsonElement>("/api/v1/conversations")).GetProperty("items").EnumerateArray());

        foreach (var (body, error) in new (object, string)[]
                 {
                     (new { }, "'url' is required"),
                     (new { url = "ftp://127.0.0.1/x" }, "'url' must be an absolute https:// URL"),
                     (new { url = "http://u:p@127.0.0.1/x" }, "must not carry a user name"),
                     (new { url = receiver.Url + "2", events = new[] { "task.done" } }, "unknown event 'task.done'"),
                     (new { url = receiver.Url + "2", events = Array.Empty<string>() }, "at least one event"),
                 })
        {
            var r = await owner.PostAsJsonAsync("/api/v1/webhooks", body);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains(error, (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }
        var duplicate = await owner.PostAsJsonAsync("/api/v1/webhooks", new { url = receiver.Url });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Single((await owner.GetFromJsonAsync<JsonElement>("/api/v1/webhooks")).GetProperty("items").EnumerateArray());

        await owner.DeleteAsync($"/api/v1/webhooks/{hook}");
        Assert.Equal(HttpStatusCode.NotFound, (await owner.GetAsync($"/api/v1/webhooks/{hook}")).StatusCode);
        // A webhook still registered hears the next task: by then the deleted one would have been sent its delivery too.
        await using var kept = await WebhookReceiver.StartAsync();
        await kept.RegisterAsync(owner);
        var after = await SendAsync(owner, new { message = "hello" });
        Assert.Equal("completed", (await TaskPolling.PollAsync(owner, after)).Status);
        await kept.WaitForAsync(1, r => r.Data.GetProperty("task_id").GetString() == after);
        Assert.Empty(receiver.Requests);
    }

    private static async Task<JsonElement> WaitForStatusAsync(HttpClient c, string hook, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var items = (await DeliveriesAsync(c, hook)).EnumerateArray().ToList();
            if (items.Count > 0 && items[0].GetProperty("status").GetString() == status) return items[0];
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no delivery became {status}: {string.Join(",", items)}");
            await Task.Delay(100);
        }
    }
}

/// <summary>As shipped, a webhook cannot point into the deployment's own networks.</summary>
public sealed class WebhookDestinationTests(DefaultWebhookApp app) : IClassFixture<DefaultWebhookApp>
{
    [Theory]
    [InlineData("http://127.0.0.1:9/hook", "must use https://")]
    [InlineData("https://127.0.0.1/hook", "127.0.0.1, which is not a public address")]
    [InlineData("https://localhost/hook", "which is not a public address")]
    [InlineData("https://169.254.169.254/latest/meta-data", "169.254.169.254, which is not a public address")]
    [InlineData("https://10.1.2.3/hook", "10.1.2.3, which is not a public address")]
    [InlineData("https://[::1]/hook", "::1, which is not a public address")]
    [InlineData("https://[::ffff:192.168.1.1]/hook", "192.168.1.1, which is not a public address")]
    public async Task PrivateLoopbackAndLinkLocalDestinations_AreRefused(string url, string error)
    {
        var c = await app.ClientForAsync("ssrf");
        var r = await c.PostAsJsonAsync("/api/v1/webhooks", new { url });
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains(error, (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.Empty((await c.GetFromJsonAsync<JsonElement>("/api/v1/webhooks")).GetProperty("items").EnumerateArray());
    }
}
