using System.Net;
using Agents.Micro.Storage.Tasks;
using TaskStatus = Agents.Micro.Storage.Tasks.TaskStatus;

namespace Agents.Micro.TaskApi.Tests;

/// <summary>The per-user cap on queued, running and interrupted tasks (<c>Tasks:MaxActivePerUser</c>, default 20), on both APIs.</summary>
public sealed class ActiveTaskCapTests(TaskApiFactory api) : IClassFixture<TaskApiFactory>
{
    private const int DefaultCap = 20;

    private static void AssertTooMany(ApiResponse r)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, r.Status);
        Assert.Equal(["error", "success"], ApiResponse.Fields(r.Body));
        Assert.False(r.Body.GetProperty("success").GetBoolean());
        Assert.Contains("20 queued, running or waiting for approval", r.Error);
    }

    private async Task<List<string>> FillToCapAsync(HttpClient client)
    {
        var ids = new List<string>();
        for (var i = 0; i < DefaultCap; i++)
        {
            var r = await client.PostJsonAsync("/api/v1/messages", new { message = $"task {i}" });
            Assert.Equal(HttpStatusCode.Accepted, r.Status);
            ids.Add(r.Body.GetProperty("task_id").GetString()!);
        }
        return ids;
    }

    [Fact]
    public async Task SendMessage_BeyondTheUsersRunningTaskCap_Returns429AndCreatesNothing_UntilOneFinishes()
    {
        var user = TaskApiFactory.NewId("cap");
        var client = api.ClientFor(user);
        var ids = await FillToCapAsync(client);
        var conversations = (await client.GetJsonAsync("/api/v1/conversations")).Body;

        var refused = await client.PostJsonAsync("/api/v1/messages", new { message = "one too many" });
        AssertTooMany(refused);
        // Refused means nothing written: no new conversation.
        Assert.Equal(conversations.ToString(), (await client.GetJsonAsync("/api/v1/conversations")).Body.ToString());

        // Another user is not affected by this user's tasks.
        var other = await api.ClientFor(TaskApiFactory.NewId("cap-other")).PostJsonAsync("/api/v1/messages", new { message = "hi" });
        Assert.Equal(HttpStatusCode.Accepted, other.Status);

        // One finishes: there is room again for exactly one.
        await SimulatedWorker.CompleteAsync(api.Store, ids[0]);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostJsonAsync("/api/v1/messages", new { message = "now it fits" })).Status);
        AssertTooMany(await client.PostJsonAsync("/api/v1/messages", new { message = "full again" }));
    }

    [Fact]
    public async Task AgentInvoke_BeyondTheCap_Returns429_InterruptedTasksCount_AndAResumeAtTheCapStaysWithinIt()
    {
        var user = TaskApiFactory.NewId("cap");
        var client = api.ClientFor(user);
        var ids = await FillToCapAsync(client);

        var r = await client.PostJsonAsync("/agent/invoke", new { user_id = user, session_id = "s-cap", task_id = TaskApiFactory.NewId("t"), query = "hello" });
        AssertTooMany(r);
        Assert.Null(await api.Store.GetConversationAsync(user, "s-cap", TestContext.Current.CancellationToken));

        // A task waiting for a human still counts: it will run again, and a resume must not take the user past the cap.
        await SimulatedWorker.InterruptAsync(api.Store, ids[1]);
        AssertTooMany(await client.PostJsonAsync("/agent/invoke", new { user_id = user, session_id = "s-cap", task_id = TaskApiFactory.NewId("t"), query = "hello" }));
        // Resuming it is counted like a send; it was counted all along, so it fits, and the user is still at 20.
        var resumed = await client.PostJsonAsync($"/api/v1/tasks/{ids[1]}/resume", new { response_type = "accept" });
        Assert.Equal(HttpStatusCode.OK, resumed.Status);
        Assert.Equal(DefaultCap, await api.Store.CountActiveAsync(user, TestContext.Current.CancellationToken));
        AssertTooMany(await client.PostJsonAsync("/api/v1/messages", new { message = "still full" }));

        await SimulatedWorker.CompleteAsync(api.Store, ids[0]);
        var ok = await client.PostJsonAsync("/agent/invoke", new { user_id = user, session_id = "s-cap", task_id = TaskApiFactory.NewId("t"), query = "hello" });
        Assert.Equal(HttpStatusCode.OK, ok.Status);
    }

    [Fact]
    public async Task FiftyConcurrentSends_OneBelowTheCap_ExactlyOneIsAccepted()
    {
        var user = TaskApiFactory.NewId("cap");
        var client = api.ClientFor(user);
        for (var i = 0; i < DefaultCap - 1; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostJsonAsync("/api/v1/messages", new { message = $"task {i}" })).Status);
        var conversations = (await client.GetJsonAsync("/api/v1/conversations")).Body.GetProperty("items").GetArrayLength();

        var sends = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => client.PostJsonAsync("/api/v1/messages", new { message = $"race {i}" })));

        Assert.Equal(1, sends.Count(r => r.Status == HttpStatusCode.Accepted));
        foreach (var refused in sends.Where(r => r.Status != HttpStatusCode.Accepted)) AssertTooMany(refused);
        Assert.Equal(DefaultCap, await api.Store.CountActiveAsync(user, TestContext.Current.CancellationToken));
        // The refused sends left no conversation behind.
        Assert.Equal(conversations + 1, (await client.GetJsonAsync("/api/v1/conversations")).Body.GetProperty("items").GetArrayLength());
    }
}
