namespace Agents.Micro.Storage.Tasks;

/// <summary>What the client asked for, stored with the task (JSON in <c>tasks.options</c>).</summary>
public sealed record TaskOptions
{
    /// <summary>The system prompt when a request gives none: the agent API's documented default, used by the worker for both APIs.</summary>
    public const string DefaultSystemMessage = "你会使用工具来帮助用户。如果工具使用被拒绝, 请提示用户。";

    public string? Message { get; init; }
    public IReadOnlyList<string> Images { get; init; } = [];
    public string? ModelKey { get; init; }
    public string? RunMode { get; init; }
    public bool? ThinkingMode { get; init; }
    public int? MaxIterations { get; init; }
    public string? SystemMessage { get; init; }
    /// <summary>The webhook endpoint the request named with <c>webhook_url</c> (it hears this task's events).</summary>
    public string? WebhookId { get; init; }
    /// <summary>What the send asked for if its conversation was busy (<see cref="Tasks.IfBusy"/>); null: reject.</summary>
    public string? IfBusy { get; init; }
    /// <summary>The task it stopped (interrupt) or rolled back (rollback), set when it was queued behind it.</summary>
    public string? Supersedes { get; init; }
    /// <summary>Which API created it: <c>v1</c> or <c>agent</c>.</summary>
    public string Api { get; init; } = "v1";

    public static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
    };

    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this, Json);

    public static TaskOptions FromJson(string json) =>
        System.Text.Json.JsonSerializer.Deserialize<TaskOptions>(json, Json) ?? new TaskOptions();
}
