using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>Usage per task, conversation and user, and budgets that stop a send or a running task, on the embedded default.</summary>
public sealed class UsageTests(BudgetApp app) : IClassFixture<BudgetApp>
{
    private static async Task<(string Task, string Conversation)> SendAsync(HttpClient c, object body)
    {
        var sent = await c.PostJsonAsync("/api/v1/messages", body, 202);
        return (sent.GetProperty("task_id").GetString()!, sent.GetProperty("conversation_id").GetString()!);
    }

    private static (long In, long Out) UsageOf(PolledTask done)
    {
        var u = done.Events[^1].GetProperty("data").GetProperty("result").GetProperty("usage");
        return (u.GetProperty("input_tokens").GetInt64(), u.GetProperty("output_tokens").GetInt64());
    }

    [Fact]
    public async Task Usage_IsSummedPerTaskConversationModelAndDay_AndEachUserSeesTheirOwn()
    {
        var c = await app.ClientForAsync("usage-sum");
        var (t1, convA) = await SendAsync(c, new { message = "hello" });
        var d1 = await TaskPolling.PollAsync(c, t1);
        var (t2, _) = await SendAsync(c, new { message = "count to 3", conversation_id = convA });
        var d2 = await TaskPolling.PollAsync(c, t2);
        var (t3, convB) = await SendAsync(c, new { message = "write file u.txt with x" });
        await TaskPolling.PollAsync(c, t3, t => t.Status == "interrupted");
        await c.PostJsonAsync($"/api/v1/tasks/{t3}/resume", new { response_type = "accept" }, 200);
        var d3 = await TaskPolling.PollAsync(c, t3);
        Assert.All(new[] { d1, d2, d3 }, d => Assert.Equal("completed", d.Status));
        var per = new[] { UsageOf(d1), UsageOf(d2), UsageOf(d3) };
        Assert.All(per, p => Assert.True(p.In > 0 && p.Out > 0));

        var report = await c.GetFromJsonAsync<JsonElement>("/api/v1/usage");
        var totals = report.GetProperty("totals");
        Assert.Equal(per.Sum(p => p.In), totals.GetProperty("input_tokens").GetInt64());
        Assert.Equal(per.Sum(p => p.Out), totals.GetProperty("output_tokens").GetInt64());
        Assert.Equal(per.Sum(p => p.In + p.Out), totals.GetProperty("total_tokens").GetInt64());
        Assert.Equal(3, totals.GetProperty("tasks").GetInt64());
        Assert.Equal(4, totals.GetProperty("model_calls").GetInt64()); // the file task called the model twice, around its tool
        var byConversation = report.GetProperty("by_conversation").EnumerateArray()
            .ToDictionary(x => x.GetProperty("conversation_id").GetString()!, x => x.GetProperty("usage").GetProperty("total_tokens").GetInt64());
        Assert.Equal(per[0].In + per[0].Out + per[1].In + per[1].Out, byConversation[convA]);
        Assert.Equal(per[2].In + per[2].Out, byConversation[convB]);
        var model = Assert.Single(report.GetProperty("by_model").EnumerateArray());
        Assert.Equal(totals.GetProperty("total_tokens").GetInt64(), model.GetProperty("usage").GetProperty("total_tokens").GetInt64());
        var day = Assert.Single(report.GetProperty("by_day").EnumerateArray());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd"), day.GetProperty("day").GetString());
        Assert.Null(report.GetProperty("budget").GetProperty("tokens_per_day").GetString());

        var one = await c.GetFromJsonAsync<JsonElement>($"/api/v1/usage/tasks/{t3}");
        Assert.Equal((per[2].In, per[2].Out, 2L), (one.GetProperty("usage").GetProperty("input_tokens").GetInt64(),
            one.GetProperty("usage").GetProperty("output_tokens").GetInt64(), one.GetProperty("usage").GetProperty("model_calls").GetInt64()));

        // Nobody else's: another user sees none, may not ask for it, and cannot read the task's; an admin can.
        var other = await app.ClientForAsync("usage-other");
        Assert.Equal(0, (await other.GetFromJsonAsync<JsonElement>("/api/v1/usage")).GetProperty("totals").GetProperty("total_tokens").GetInt64());
        Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync("/api/v1/usage?user_id=usage-sum")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/api/v1/usage/tasks/{t3}")).StatusCode);
        var admin = await app.ClientForAsync("usage-admin", admin: true);
        var seen = await admin.GetFromJsonAsync<JsonElement>("/api/v1/usage?user_id=usage-sum");
        Assert.Equal(totals.GetProperty("total_tokens").GetInt64(), seen.GetProperty("totals").GetProperty("total_tokens").GetInt64());

        // A period before today holds none of it.
        var yesterday = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd");
        var past = await c.GetFromJsonAsync<JsonElement>($"/api/v1/usage?from={yesterday}&to={DateTime.UtcNow:yyyy-MM-dd}");
        Assert.Equal(0, past.GetProperty("totals").GetProperty("total_tokens").GetInt64());
    }

    [Theory]
    [InlineData("from=yesterday", "'from' must be an ISO 8601 date or time")]
    [InlineData("to=2026-13-45", "'to' must be an ISO 8601 date or time")]
    [InlineData("from=2026-12-02&to=2026-12-01", "'to' must be after 'from'")]
    public async Task ABadPeriod_Is400(string query, string error)
    {
        var r = await (await app.ClientForAsync("usage-bad")).GetAsync("/api/v1/usage?" + query);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.StartsWith(error, (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("budget-day", "TokensPerDay", "today (UTC)")]
    [InlineData("budget-month", "TokensPerMonth", "this month (UTC)")]
    public async Task ATaskThatCrossesItsBudget_FailsSayingSo_AndTheNextSendIs429UntilItResets(string user, string setting, string period)
    {
        var c = await app.ClientForAsync(user);
        var (id, _) = await SendAsync(c, new { message = "count to 5" });
        var failed = await TaskPolling.PollAsync(c, id);
        Assert.Equal("error", failed.Status);
        var error = failed.Events[^1].GetProperty("data").GetProperty("error").GetString()!;
        Assert.StartsWith("token budget exceeded: ", error);
        Assert.Contains($"of 1 tokens used {period} (Budgets:{setting}); it resets at ", error);
        Assert.Contains("text_chunk", failed.Types); // it ran: the call that crossed the budget streamed its answer

        var refused = await c.PostAsJsonAsync("/api/v1/messages", new { message = "again" });
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        var body = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(body.GetProperty("success").GetBoolean());
        Assert.Contains($"(Budgets:{setting}); it resets at ", body.GetProperty("error").GetString());
        var now = DateTimeOffset.UtcNow;
        var reset = setting == "TokensPerDay" ? new DateTimeOffset(now.Date.AddDays(1), TimeSpan.Zero) : new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds, (reset - now).TotalSeconds - 30, (reset - now).TotalSeconds + 30);
        var agent = await c.PostAsJsonAsync("/agent/invoke", new { user_id = user, session_id = "s-budget", task_id = "t-budget", query = "hi" });
        Assert.Equal((HttpStatusCode)429, agent.StatusCode);
        // Nothing was created by the refusals.
        Assert.Single((await c.GetFromJsonAsync<JsonElement>("/api/v1/conversations")).GetProperty("items").EnumerateArray());

        var usage = await c.GetFromJsonAsync<JsonElement>("/api/v1/usage");
        var budget = usage.GetProperty("budget");
        var (limit, used) = setting == "TokensPerDay" ? ("tokens_per_day", "used_today") : ("tokens_per_month", "used_this_month");
        Assert.Equal(1, budget.GetProperty(limit).GetInt64());
        Assert.True(budget.GetProperty(used).GetInt64() > 1);
    }

    [Fact]
    public async Task AConcurrentTaskBudget_RefusesASecondActiveTask_UntilTheFirstEnds()
    {
        var c = await app.ClientForAsync("budget-conc");
        var (first, _) = await SendAsync(c, new { message = "write file c.txt with x" });
        await TaskPolling.PollAsync(c, first, t => t.Status == "interrupted");
        var refused = await c.PostAsJsonAsync("/api/v1/messages", new { message = "hello" });
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.Contains("concurrent task budget: you already have 1", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.Equal(1, (await c.GetFromJsonAsync<JsonElement>("/api/v1/usage")).GetProperty("budget").GetProperty("concurrent_tasks").GetInt32());

        await c.PostJsonAsync($"/api/v1/tasks/{first}/resume", new { response_type = "accept" }, 200); // its own task is not refused
        Assert.Equal("completed", (await TaskPolling.PollAsync(c, first)).Status);
        var (second, _) = await SendAsync(c, new { message = "hello" });
        Assert.Equal("completed", (await TaskPolling.PollAsync(c, second)).Status);
    }
}
