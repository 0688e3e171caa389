using System.ComponentModel.DataAnnotations;
using System.ComponentModel;

namespace Agents.Micro.TaskApi.Endpoints;

// The models of spec/agent-service-api.md, with its field names (snake_case comes from the global JSON options). Each
// request record is its body's one declaration: StrictJson.ReadAsync<T> binds and validates it, the OpenAPI document
// shows it. The ids are checked further by AgentAccess.CheckId (length, characters) with the same wording.

/// <summary>客户端发起的运行智能体的请求数据 (POST /agent/invoke).</summary>
public sealed record AgentRequest(
    [property: Required, Description("用户唯一标识")] string? UserId,
    [property: Required, Description("会话唯一标识 (created on first use; the same thing as a v1 conversation)")] string? SessionId,
    [property: Required, Description("任务唯一标识 (chosen by the client; unique across the system, a reused id answers 409)")] string? TaskId,
    [property: Required, StringLength(100_000), Description("用户的问题")] string? Query,
    [property: StringLength(100_000), DefaultValue(TaskOptions.DefaultSystemMessage), Description("system prompt")] string? SystemMessage = null,
    [property: StringLength(128), Description("addition: model key, as in v1")] string? ModelKey = null,
    [property: AllowedValues("fast", "thinking", "deep", null), Description("addition: fast | thinking | deep, as in v1")] string? RunMode = null,
    [property: Description("addition: as in v1")] bool? ThinkingMode = null,
    [property: Range(1, 50), Description("addition: 1..50, as in v1")] int? MaxIterations = null,
    [property: StringLength(2000), Description(WebhookUrlDescription.Text)] string? WebhookUrl = null,
    [property: AllowedValues("reject", "enqueue", "interrupt", "rollback", null), Description(WebhookUrlDescription.IfBusy)] string? IfBusy = null);

/// <summary>Resumes an interrupted run (POST /agent/resume).</summary>
public sealed record InterruptResponse(
    [property: Required] string? UserId,
    [property: Required] string? SessionId,
    [property: Required] string? TaskId,
    [property: Required, StringLength(32), Description("中断响应类型: accept|approve, edit, reject|ignore, respond|response")] string? ResponseType,
    [property: Description("如果是edit, response类型, 可能需要额外的参数: edit → the tool's new arguments; respond → {\"response\": \"…\"}; reject → optional {\"reason\": \"…\"}")]
    Dictionary<string, JsonElement>? Args = null)
{
    /// <summary>The arguments as the resumer takes them.</summary>
    public JsonElement? ArgsElement() => Args is null ? null : JsonSerializer.SerializeToElement(Args);
}

/// <summary>What invoke and resume answer at once.</summary>
public sealed record AgentTaskIds(string UserId, string SessionId, string TaskId);

/// <summary>运行智能体后返回的响应数据.</summary>
public sealed record AgentResponse(
    string SessionId,
    string TaskId,
    [property: Description("interrupted, completed, error (or cancelled)")] string Status,
    [property: Description("Unix seconds of the task's last change")] double Timestamp,
    [property: Description("error时的提示消息 (and the reason of a cancel)")] string? Message,
    [property: Description("completed时的结果消息: {text, files, usage, iterations, stopped_at_limit}")] JsonElement? Result,
    [property: Description("interrupted时的中断消息: {interrupt_id, call_id, name, arguments, allowed, description, action_request, config}")] JsonElement? InterruptData);

public sealed record SystemInfoResponse(
    [property: Description("当前系统内会话总数")] long SessionsCount,
    [property: Description("users with a running or interrupted task")] IReadOnlyList<string> ActiveUsers);

public sealed record SessionInfoResponse([property: Description("当前用户的所有的session_id, most recently modified first")] IReadOnlyList<string> SessionIds);

/// <summary>One task of a session and its status (an addition: the issue asks for "ids and their statuses").</summary>
public sealed record AgentTaskItem(string TaskId, string Status);

public sealed record TaskInfoResponse(
    [property: Description("当前用户会话的所有task_ids, oldest first")] IReadOnlyList<string> TaskIds,
    [property: Description("addition: the same tasks with their statuses")] IReadOnlyList<AgentTaskItem> Tasks);

public sealed record ActiveSessionInfoResponse([property: Description("最近一次更新的会话ID")] string ActiveSessionId);

/// <summary>会话状态详情响应数据.</summary>
public sealed record SessionStatusResponse(
    string UserId,
    string? SessionId,
    string TaskId,
    [property: Description("not_found, idle, running, interrupted, completed, error, cancelled")] string Status,
    [property: Description("error时的提示消息; also explains not_found, idle and cancelled")] string? Message,
    string? LastQuery,
    [property: Description("Unix seconds")] double? LastUpdated,
    [property: Description("null while running and for not_found / idle")] AgentResponse? LastResponse,
    [property: Description("addition: while the task waits for a free worker (status running), its place in the queue (1 = next); otherwise null")] long? QueuePosition = null);

public sealed record AgentDeleteResponse(string Status, string Message);
