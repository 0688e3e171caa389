using System.Net;
using Agents.Micro.Contracts;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using MassTransit.Testing;
using TaskStatus = Agents.Micro.Storage.Tasks.TaskStatus;

namespace Agents.Micro.TaskApi.Tests;

/// <summary>An operator lists tasks that look stuck, re-dispatches one, ends another — each action audited in the task's log.</summary>
public sealed class AdminRepairTests(TaskApiFactory api) : IClassFixture<TaskApiFactory>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<string> SendAsync(HttpClient c) =>
        (await c.PostJsonAsync("/api/v1/messages", new { message = "hi" })).Body.GetProperty("task_id").GetString()!;

    [Fact]
    public async Task Operator_ListsStuckTasks_RedispatchesOne_EndsAnother_AndEachIsAuditedInTheLog()
    {
        var user = TaskApiFactory.NewId("stuck");
        var c = api.ClientFor(user);
        var admin = api.ClientFor("ops", admin: true);
        // A task whose worker died two minutes ago (its lease long expired), one waiting for a human, one fine.
        var orphan = await SendAsync(c);
        var then = UnixTime.Now() - 300;
        Assert.NotNull(await api.Store.TryClaimAsync(orphan, "dead-worker", then + 180, then, Ct));
        var waiting = await SendAsync(c);
        await SimulatedWorker.InterruptAsync(api.Store, waiting);
        var healthy = await SendAsync(c);
        await SimulatedWorker.ClaimAsync(api.Store, healthy);

        Assert.Equal(HttpStatusCode.Forbidden, (await c.GetJsonAsync("/system/tasks/stuck")).Status);
        var stuck = await admin.GetJsonAsync("/system/tasks/stuck?interrupted_days=0");
        Assert.Equal(HttpStatusCode.OK, stuck.Status);
        var items = stuck.Body.GetProperty("items").EnumerateArray().Where(i => i.GetProperty("user_id").GetString() == user).ToList();
        Assert.Equal(new[] { orphan, waiting }.Order(), items.Select(i => i.GetProperty("task_id").GetString()!).Order());
        Assert.Contains("dead-worker", items.Single(i => i.GetProperty("task_id").GetString() == orphan).GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetJsonAsync("/system/tasks/stuck?interrupted_days=x")).Status);

        // Re-dispatch: a reason is required; a task a live worker holds is refused and left alone.
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostJsonAsync($"/system/tasks/{orphan}/redispatch", new { reason = " " })).Status);
        var refused = await admin.PostJsonAsync($"/system/tasks/{healthy}/redispatch", new { reason = "testing" });
        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Equal(0, (await api.Store.ReadEventsAsync(healthy, 0, 100, Ct)).Count(e => e.Type == EventTypes.AdminAction));
        var redispatched = await admin.PostJsonAsync($"/system/tasks/{orphan}/redispatch", new { reason = "worker vm-7 died at 03:10" });
        Assert.Equal(HttpStatusCode.OK, redispatched.Status);
        Assert.True(await api.Harness.Sent.Any<RunTask>(m => m.Context.Message.TaskId == orphan && m.Context.Message.Reason == "admin", Ct));
        var audit = (await api.Store.ReadEventsAsync(orphan, 0, 100, Ct)).Last();
        Assert.Equal(EventTypes.AdminAction, audit.Type);
        using (var doc = System.Text.Json.JsonDocument.Parse(audit.Data))
        {
            var d = doc.RootElement;
            Assert.Equal(("redispatch", "ops", "worker vm-7 died at 03:10"),
                (d.GetProperty("action").GetString(), d.GetProperty("by").GetString(), d.GetProperty("reason").GetString()));
        }
        Assert.Null((await api.Store.GetTaskAsync(orphan, Ct))!.LeaseOwner); // any worker can claim it now

        // End: the waiting task ends with the reason, audited, and cannot be ended twice.
        var ended = await admin.PostJsonAsync($"/system/tasks/{waiting}/end", new { reason = "abandoned by the customer" });
        Assert.Equal(HttpStatusCode.OK, ended.Status);
        var row = (await api.Store.GetTaskAsync(waiting, Ct))!;
        Assert.Equal(TaskStatus.Error, row.Status);
        Assert.Contains("abandoned by the customer", row.Error);
        var tail = (await api.Store.ReadEventsAsync(waiting, 0, 100, Ct)).TakeLast(2).Select(e => e.Type);
        Assert.Equal([EventTypes.AdminAction, EventTypes.TaskFailed], tail);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostJsonAsync($"/system/tasks/{waiting}/end", new { reason = "again" })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostJsonAsync("/system/tasks/no-such-task/end", new { reason = "x" })).Status);
    }
}
