using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Agents.Micro.Messaging;

public static class MessagingExtensions
{
    /// <summary>
    /// MassTransit on RabbitMQ or the in-memory transport, chosen by <c>Messaging:Transport</c>. Each service adds its
    /// consumers and request clients through <paramref name="configure"/>; the embedded host passes all of them at once.
    /// Queues are named kebab-case after the consumer (<c>run-task</c>), so every worker process competes on the same queue.
    /// </summary>
    /// <param name="brokerGatesReadiness">
    /// Whether <c>/health/ready</c> fails while the broker is away. True for services that get their work from it (the
    /// workers); TaskApi passes false: it still accepts tasks then (the row is the truth, its sweep sends them later).
    /// </param>
    public static IHostApplicationBuilder AddAgentsMessaging(this IHostApplicationBuilder builder, Action<IBusRegistrationConfigurator> configure,
        bool brokerGatesReadiness = true)
    {
        builder.Services.AddOptions<MessagingOptions>().BindConfiguration(MessagingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        var options = builder.Configuration.GetSection(MessagingOptions.SectionName).Get<MessagingOptions>() ?? new MessagingOptions();
        builder.Services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            // MassTransit 8.4+ reports anonymous usage to its vendor over HTTPS after start-up. A deployment makes no
            // outside call it was not asked to make: off (only MASSTRANSIT_USAGE_TELEMETRY=true turns it back on).
            bus.ConfigureUsageTelemetryOptions(o => o.Enabled = false);
            configure(bus);
            if (options.Transport.Equals("rabbitmq", StringComparison.OrdinalIgnoreCase))
            {
                bus.UsingRabbitMq((ctx, cfg) =>
                {
                    var r = options.RabbitMq;
                    cfg.Host(r.Host, r.Port, r.VirtualHost, h =>
                    {
                        h.Username(r.Username);
                        h.Password(r.Password);
                        h.RequestedConnectionTimeout(TimeSpan.FromSeconds(5));
                    });
                    cfg.PrefetchCount = options.PrefetchCount;
                    cfg.ConfigureEndpoints(ctx);
                });
            }
            else
            {
                bus.UsingInMemory((ctx, cfg) => cfg.ConfigureEndpoints(ctx));
            }
        });
        if (options.Transport.Equals("rabbitmq", StringComparison.OrdinalIgnoreCase))
            builder.Services.AddHealthChecks().AddCheck<BrokerHealthCheck>("broker", tags: brokerGatesReadiness ? ["ready"] : ["broker"]);
        builder.Services.Configure<MassTransitHostOptions>(o =>
        {
            // Start even while the broker is down: the database is the source of truth and tasks are re-dispatched later.
            o.WaitUntilStarted = false;
            o.StopTimeout = TimeSpan.FromSeconds(30);
        });
        return builder;
    }
}
