using System.ComponentModel.DataAnnotations;
using System.ComponentModel;

namespace Agents.Micro.TaskApi.Endpoints;

// Request bodies of the v1 API as spec/agents-api-v1.openapi.yaml names them: each record is the body's one
// declaration. StrictJson.ReadAsync<T> binds and validates it, and the OpenAPI document is generated from it.
// Optional and required members alike are nullable, so a field sent as null reads as absent ("is required").

public sealed record CreateConversationRequest([property: StringLength(200), Description("optional title")] string? Title = null);

public sealed record SendMessageRequest(
    [property: StringLength(100_000), Description("用户消息文本(message 与 images 至少其一不为空)")] string? Message = null,
    [property: MaxLength(16), Description("图片路径列表(相对 project 根目录)")] IReadOnlyList<string>? Images = null,
    [property: StringLength(128), Description("对话 ID;不传则自动创建")] string? ConversationId = null,
    [property: StringLength(128), Description("模型 key(可选,取决于服务端配置)")] string? ModelKey = null,
    [property: AllowedValues("fast", "thinking", "deep", null), Description("运行模式:fast | thinking | deep;若传入则优先使用")] string? RunMode = null,
    [property: Description("是否开启思考模式(true/false)")] bool? ThinkingMode = null,
    [property: Range(1, 50), Description("最大迭代次数(1..50)")] int? MaxIterations = null,
    [property: StringLength(2000), Description(WebhookUrlDescription.Text)] string? WebhookUrl = null,
    [property: AllowedValues("reject", "enqueue", "interrupt", "rollback", null), Description(WebhookUrlDescription.IfBusy)] string? IfBusy = null);

internal static class WebhookUrlDescription
{
    public const string IfBusy = "addition: when the conversation already has a running or interrupted task: reject (default, 409), " +
        "enqueue (run after it), interrupt (stop it at its next step, keep its output, then run), rollback (cancel it, drop its turn from the history, then run)";

    public const string Text = "addition: the URL of one of your webhooks (POST /api/v1/webhooks); this task's events are sent to it even if it does not take all tasks";
}

public sealed record ResumeTaskRequest(
    [property: Required, StringLength(32), Description("accept|approve, edit, reject|ignore, respond|response")] string? ResponseType,
    [property: Description("edit → the tool's new arguments; respond → {\"response\": \"…\"}; reject → optional {\"reason\": \"…\"}")] Dictionary<string, JsonElement>? Args = null,
    [property: StringLength(128), Description("the pending interrupt's id (optional; refuses a decision meant for an older interrupt)")] string? InterruptId = null)
{
    /// <summary>The arguments as the resumer takes them.</summary>
    public JsonElement? ArgsElement() => Args is null ? null : JsonSerializer.SerializeToElement(Args);
}
