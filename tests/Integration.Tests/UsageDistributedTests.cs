using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>Gateway, TaskApi and a worker as processes on PostgreSQL and RabbitMQ, with a budget for one user.</summary>
public sealed class UsageDistributedFixture : DistributedFixture
{
    protected override int WorkerCount => 1;

    private static readonly (string, string)[] Budgets = [("Budgets:Users:dist-budget:TokensPerDay", "1")];

    protected override IEnumerable<(string Key, string Value)> TaskApiSettings => Budgets;

    protected override IEnumerable<(string Key, string Value)> WorkerSettings => Budgets;
}

/// <summary>Usage and budgets on the production topology: the worker writes the tokens with its commits, TaskApi sums them.</summary>
public sealed class UsageDistributedTests(UsageDistributedFixture fx) : IClassFixture<UsageDistributedFixture>
{
    [Fact]
    public async Task TokensWrittenByTheWorker_AreWhatTheUsageReportSums()
    {
        var c = await fx.GatewayClientAsync("dist-usage");
        long total = 0;
        foreach (var message in new[] { "hello", "count to 4" })
        {
            var id = (await c.PostJsonAsync("/api/v1/messages", new { message }, 202)).GetProperty("task_id").GetString()!;
            var done = await TaskPolling.PollAsync(c, id);
            var u = done.Events[^1].GetProperty("data").GetProperty("result").GetProperty("usage");
            total += u.GetProperty("input_tokens").GetInt64() + u.GetProperty("output_tokens").GetInt64();
        }
        var report = await c.GetFromJsonAsync<JsonElement>("/api/v1/usage");
        Assert.Equal(total, report.GetProperty("totals").GetProperty("total_tokens").GetInt64());
        Assert.Equal(2, report.GetProperty("totals").GetProperty("tasks").GetInt64());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd"), Assert.Single(report.GetProperty("by_day").EnumerateArray()).GetProperty("day").GetString());
        Assert.Equal(total, report.GetProperty("budget").GetProperty("used_today").GetInt64());
    }

    [Fact]
    public async Task ATaskCrossingItsBudgetOnAWorker_FailsSayingSo_AndTaskApiRefusesTheNextSend()
    {
        var c = await fx.GatewayClientAsync("dist-budget");
        var id = (await c.PostJsonAsync("/api/v1/messages", new { message = "count to 5" }, 202)).GetProperty("task_id").GetString()!;
        var failed = await TaskPolling.PollAsync(c, id);
        Assert.Equal("error", failed.Status);
        Assert.StartsWith("token budget exceeded: ", failed.Events[^1].GetProperty("data").GetProperty("error").GetString());
        var refused = await c.PostAsJsonAsync("/api/v1/messages", new { message = "again" });
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
    }
}
