using System.Globalization;
using Agents.Micro.Storage.Usage;

namespace Agents.Micro.TaskApi.Usage;

public sealed record UsageTotalsDto(long InputTokens, long OutputTokens, long ReasoningTokens, long TotalTokens, long ModelCalls, long Tasks)
{
    public static UsageTotalsDto Of(UsageTotals t) => new(t.InputTokens, t.OutputTokens, t.ReasoningTokens, t.TotalTokens, t.ModelCalls, t.Tasks);
}

public sealed record ModelUsageItem(string Model, UsageTotalsDto Usage);

public sealed record DayUsageItem(string Day, UsageTotalsDto Usage);

public sealed record ConversationUsageItem(string ConversationId, UsageTotalsDto Usage);

/// <summary>The user's limits (null: none) and where they stand; <c>*_resets_at</c> in UTC.</summary>
public sealed record BudgetStatus(long? TokensPerDay, long UsedToday, string DayResetsAt, long? TokensPerMonth, long UsedThisMonth, string MonthResetsAt,
    int? ConcurrentTasks, long ActiveTasks);

public sealed record UsageResponse(bool Success, string UserId, string From, string To, UsageTotalsDto Totals, IReadOnlyList<ModelUsageItem> ByModel,
    IReadOnlyList<DayUsageItem> ByDay, IReadOnlyList<ConversationUsageItem> ByConversation, BudgetStatus Budget);

public sealed record TaskUsageResponse(bool Success, string TaskId, UsageTotalsDto Usage);

/// <summary>
/// <c>GET /api/v1/usage</c>: the model tokens a user's tasks used (input, output, reasoning), in total and by model, UTC
/// day and conversation, with the user's budgets; <c>?task_id=</c> gives one task's. A user sees their own; an admin
/// token anyone's (<c>?user_id=</c>).
/// </summary>
public static class UsageEndpoints
{
    public static IEndpointRouteBuilder MapUsageEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/usage").RequireAuthorization().WithTags("v1 usage");
        api.MapGet("", Get).WithName("GetUsage")
            .WithSummary("model tokens used in a period (default: this UTC month so far), by model, day and conversation, with the budgets")
            .WithQueryParameter("from", "start, ISO 8601 (a date is its UTC midnight); default: the first of this month (UTC)")
            .WithQueryParameter("to", "end (exclusive), ISO 8601; default: now")
            .WithQueryParameter("user_id", "whose usage (admin tokens only; default: the caller's)")
            .Produces<UsageResponse>().ProducesErrors(400, 401, 403);
        api.MapGet("/tasks/{task_id}", GetTask).WithName("GetTaskUsage").WithSummary("one task's model tokens").ProducesErrors(401, 404);
        return app;
    }

    public static async Task<Results<Ok<UsageResponse>, JsonHttpResult<ErrorBody>>> Get(
        HttpContext ctx, UsageStore usage, UsageBudget budget, ITaskStore tasks, TimeProvider clock, CancellationToken ct)
    {
        var caller = ctx.Caller();
        var user = ctx.Request.Query["user_id"].FirstOrDefault() ?? caller.UserId;
        if (user != caller.UserId && !caller.IsAdmin) return ApiError.Forbidden("only an admin token may read another user's usage");
        var now = clock.GetUtcNow();
        var (dayStart, monthStart) = UsageBudget.Periods(now);
        if (ReadTime(ctx, "from", monthStart, out var from) is { } badFrom) return ApiError.BadRequest(badFrom);
        if (ReadTime(ctx, "to", now, out var to) is { } badTo) return ApiError.BadRequest(badTo);
        if (to <= from) return ApiError.BadRequest("'to' must be after 'from'");

        var report = await usage.ReportAsync(user, Seconds(from), Seconds(to), ct);
        var limits = budget.For(user);
        var status = new BudgetStatus(
            limits.TokensPerDay is > 0 ? limits.TokensPerDay : null, await usage.TokensSinceAsync(user, Seconds(dayStart), ct), Iso(dayStart.AddDays(1)),
            limits.TokensPerMonth is > 0 ? limits.TokensPerMonth : null, await usage.TokensSinceAsync(user, Seconds(monthStart), ct), Iso(monthStart.AddMonths(1)),
            limits.ConcurrentTasks is > 0 ? limits.ConcurrentTasks : null, await tasks.CountActiveAsync(user, ct));
        return TypedResults.Ok(new UsageResponse(true, user, Iso(from), Iso(to), UsageTotalsDto.Of(report.Totals),
            report.ByModel.Select(m => new ModelUsageItem(m.Model, UsageTotalsDto.Of(m.Totals))).ToList(),
            report.ByDay.Select(d => new DayUsageItem(d.Day, UsageTotalsDto.Of(d.Totals))).ToList(),
            report.ByConversation.Select(c => new ConversationUsageItem(c.ConversationId, UsageTotalsDto.Of(c.Totals))).ToList(),
            status));
    }

    public static async Task<Results<Ok<TaskUsageResponse>, JsonHttpResult<ErrorBody>>> GetTask(
        string task_id, HttpContext ctx, UsageStore usage, ITaskStore tasks, CancellationToken ct)
    {
        var task = await tasks.FindTaskAsync(ctx.Caller().UserId, task_id, ct);
        if (task is null) return ApiError.NotFound($"task '{task_id}' not found");
        return TypedResults.Ok(new TaskUsageResponse(true, task.PublicId, UsageTotalsDto.Of(await usage.TaskAsync(task.Id, ct))));
    }

    private static string? ReadTime(HttpContext ctx, string name, DateTimeOffset fallback, out DateTimeOffset value)
    {
        value = fallback;
        var raw = ctx.Request.Query[name];
        if (raw.Count == 0) return null;
        return raw.Count == 1 && DateTimeOffset.TryParse(raw[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value)
            ? null
            : $"'{name}' must be an ISO 8601 date or time, e.g. 2026-12-01 or 2026-12-01T08:00:00Z";
    }

    private static double Seconds(DateTimeOffset t) => t.ToUnixTimeMilliseconds() / 1000.0;

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
