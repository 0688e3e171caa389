using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.TaskApi.Webhooks;

/// <summary>Signed task webhooks (section <c>Webhooks</c>; README "Webhooks").</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Webhooks";

    /// <summary>This instance sends due deliveries (every TaskApi instance may; they share the work).</summary>
    public bool SendEnabled { get; set; } = true;

    /// <summary>
    /// The longest the sender sleeps. It wakes for a task's end or interrupt (over RabbitMQ) and at the next retry's
    /// time; this sweep only catches what those missed (a lost notice, another instance's leftovers). An idle TaskApi
    /// reads the deliveries table twice per sweep.
    /// </summary>
    [Range(0.05, 3600)]
    public double SweepSeconds { get; set; } = 30;

    /// <summary>One attempt's time limit (connect, send, and the receiver's answer).</summary>
    [Range(1, 300)]
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>The wait after the first failed attempt; each further wait doubles, up to <see cref="MaxRetryIntervalSeconds"/>.</summary>
    [Range(0.01, 3600)]
    public double FirstRetrySeconds { get; set; } = 5;

    [Range(0.01, 86_400)]
    public double MaxRetryIntervalSeconds { get; set; } = 3600;

    /// <summary>How long a delivery is retried after its event (or after "send again") before it is given up.</summary>
    [Range(0.001, 720)]
    public double RetryHours { get; set; } = 24;

    /// <summary>Deliveries one instance sends at once.</summary>
    [Range(1, 256)]
    public int MaxConcurrentSends { get; set; } = 16;

    [Range(1, 1000)]
    public int MaxEndpointsPerUser { get; set; } = 20;

    /// <summary>Plain <c>http://</c> receivers (off: HTTPS only).</summary>
    public bool AllowHttp { get; set; }

    /// <summary>
    /// Networks (CIDR, e.g. <c>10.0.0.0/8</c>, <c>127.0.0.1/32</c>) a receiver may be in although they are private,
    /// loopback or link-local, which are refused otherwise.
    /// </summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>Where clients reach the API, for the log link in a payload (e.g. <c>https://agents.example.com</c>); empty: a path only.</summary>
    public string PublicBaseUrl { get; set; } = "";
}
