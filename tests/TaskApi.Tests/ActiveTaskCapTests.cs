using System.Net;
using Agents.Micro.Storage.Tasks;
using TaskStatus = Agents.Micro.Storage.Tasks.TaskStatus;

namespace Agents.Micro.TaskApi.Tests;

/// <summary>The per-user cap on queued and running tasks (<c>Tasks:MaxActivePerUser</c>, default 20), on both APIs.</summary>
public sealed class ActiveTaskCapTests(TaskApiFactory api) : IClassFixture<TaskApiFactory>
{
    private const int DefaultCap = 20;

    private static void AssertTooMany(ApiResponse r)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, r.Status);
        Assert.Equal(["error", "success"], ApiResponse.Fields(r.Body));
        Assert.False(r.Body.GetProperty("success").GetBoolean());
        Assert.Contains("20 queued or running", r.Error);
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
    public async Task AgentInvoke_BeyondTheCap_Returns429_AndInterruptedTasksDoNotCount()
    {
        var user = TaskApiFactory.NewId("cap");
        var client = api.ClientFor(user);
        var ids = await FillToCapAsync(client);

        var r = await client.PostJsonAsync("/agent/invoke", new { user_id = user, session_id = "s-cap", task_id = TaskApiFactory.NewId("t"), query = "hello" });
        AssertTooMany(r);
        Assert.Null(await api.Store.GetConversationAsync(user, "s-cap", TestContext.Current.CancellationToken));

        // A task waiting for a human holds no worker: it frees its place under the cap.
        await SimulatedWorker.InterruptAsync(api.Store, ids[1]);
        Assert.Equal(TaskStatus.Interrupted, (await api.Store.GetTaskAsync(ids[1], TestContext.Current.CancellationToken))!.Status);
        var ok = await client.PostJsonAsync("/agent/invoke", new { user_id = user, session_id = "s-cap", task_id = TaskApiFactory.NewId("t"), query = "hello" });
        Assert.Equal(HttpStatusCode.OK, ok.Status);
    }
}
