namespace Agents.Micro.Storage.Webhooks;

/// <summary>The events a webhook endpoint can receive: a task ended, or it waits for a human decision.</summary>
public static class WebhookEvents
{
    public const string Completed = "task.completed";
    public const string Failed = "task.failed";
    public const string Cancelled = "task.cancelled";
    public const string Interrupted = "task.interrupted";

    public static readonly IReadOnlyList<string> All = [Completed, Failed, Cancelled, Interrupted];

    /// <summary>The task status an event reports (a failed task's status is <c>error</c>, as both APIs call it).</summary>
    public static string StatusOf(string eventType) => eventType switch
    {
        Completed => "completed",
        Failed => "error",
        Cancelled => "cancelled",
        _ => "interrupted",
    };
}

/// <summary>A registered receiver. Its secret signs every delivery; only the one who registered it sees it, once.</summary>
public sealed class WebhookEndpoint
{
    public string Id { get; set; } = "";
    public string UserId { get; set; } = "";
    public string Url { get; set; } = "";
    public string Secret { get; set; } = "";
    /// <summary>Space-separated, with a space at each end (so that one event is found with LIKE '% type %').</summary>
    public string Events { get; set; } = "";
    /// <summary>Every task of the user (true), or only tasks whose request named it with <c>webhook_url</c>.</summary>
    public bool AllTasks { get; set; }
    public string? Description { get; set; }
    public double CreatedAt { get; set; }

    public IReadOnlyList<string> EventList => Events.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public static string JoinEvents(IEnumerable<string> events) => " " + string.Join(' ', events.Distinct()) + " ";
}

public static class DeliveryStatus
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
}

/// <summary>One event for one endpoint: sent until a 2xx answers or its retry window closes.</summary>
public sealed class WebhookDelivery
{
    /// <summary>Also the <c>webhook-id</c> header (with <c>msg_</c> before it): the same on every attempt.</summary>
    public string Id { get; set; } = "";
    public string EndpointId { get; set; } = "";
    public string UserId { get; set; } = "";
    /// <summary>The task's internal id.</summary>
    public string TaskId { get; set; } = "";
    /// <summary>The id its user knows it by.</summary>
    public string PublicTaskId { get; set; } = "";
    public string EventType { get; set; } = "";
    public long EventIdx { get; set; }
    /// <summary>The body, fixed at the first attempt so that every attempt sends the same bytes.</summary>
    public string? Payload { get; set; }
    public string Status { get; set; } = DeliveryStatus.Pending;
    public long Attempts { get; set; }
    public double? NextAttemptAt { get; set; }
    /// <summary>When the current retry window began: the event, or the last "send again".</summary>
    public double WindowStart { get; set; }
    /// <summary>The first attempt of the current window: the waits between attempts double from it.</summary>
    public long WindowFirstAttempt { get; set; } = 1;
    public double CreatedAt { get; set; }
    public double? DeliveredAt { get; set; }
}

public sealed record WebhookAttempt(string DeliveryId, long Attempt, double At, int? StatusCode, double LatencyMs, string? Error);

/// <summary>What one attempt found, and what is next: delivered, another attempt at a time, or given up.</summary>
public sealed record AttemptOutcome(WebhookAttempt Attempt, string Status, double? NextAttemptAt);
