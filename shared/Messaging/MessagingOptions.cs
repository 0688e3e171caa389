using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.Messaging;

/// <summary>Which MassTransit transport the service uses.</summary>
public sealed class MessagingOptions
{
    public const string SectionName = "Messaging";

    /// <summary><c>rabbitmq</c> (production) or <c>inmemory</c> (embedded default, single process only).</summary>
    [Required, RegularExpression("(?i)^(rabbitmq|inmemory)$")]
    public string Transport { get; set; } = "inmemory";

    public RabbitMqOptions RabbitMq { get; set; } = new();

    /// <summary>Messages a consumer endpoint prefetches (RabbitMQ).</summary>
    public int PrefetchCount { get; set; } = 32;
}

public sealed class RabbitMqOptions
{
    public string Host { get; set; } = "localhost";
    public ushort Port { get; set; } = 5672;
    public string VirtualHost { get; set; } = "/";
    public string Username { get; set; } = "guest";
    public string Password { get; set; } = "guest";
}
