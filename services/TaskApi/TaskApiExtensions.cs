using Agents.Micro.Contracts;
using Agents.Micro.Storage.Files;
using Agents.Micro.TaskApi.Consumers;
using Agents.Micro.TaskApi.Endpoints;
using Agents.Micro.TaskApi.Streaming;
using Agents.Micro.TaskApi.Usage;
using Agents.Micro.TaskApi.Webhooks;
using Agents.Micro.Storage.Usage;
using Agents.Micro.Storage.Webhooks;
using MassTransit;

namespace Agents.Micro.TaskApi;

public static class TaskApiExtensions
{
    /// <summary>
    /// Conversations, tasks and their dispatch, and following tasks live (<c>Streaming:*</c>). The host adds
    /// authentication, messaging and <c>app.UseWebSockets()</c> (for <c>/api/v1/tasks/{id}/ws</c>).
    /// </summary>
    public static IHostApplicationBuilder AddTaskApi(this IHostApplicationBuilder builder)
    {
        builder.AddDatabase();
        builder.AddFileStoreReader();
        builder.Services.AddOptions<ModelCatalogOptions>().BindConfiguration(ModelCatalogOptions.SectionName);
        builder.Services.AddOptions<DispatchOptions>().BindConfiguration(DispatchOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<TaskLimitOptions>().BindConfiguration(TaskLimitOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ITaskStore, SqlTaskStore>();
        builder.AddUsageBudgets();
        builder.Services.AddSingleton<TaskDispatcher>();
        builder.Services.AddSingleton<TaskSubmitter>();
        builder.Services.AddSingleton<TaskCanceller>();
        builder.Services.AddSingleton<TaskResumer>();
        builder.Services.AddSingleton<MessageImages>();
        builder.Services.AddSchemaInitializer<ITaskStore>("task", (s, ct) => s.EnsureSchemaAsync(ct));
        builder.Services.AddHostedService<StrandedTaskRedispatcher>();
        builder.Services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHostedService<RetentionSweeper>();

        builder.Services.AddOptions<StreamingOptions>().BindConfiguration(StreamingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<TaskEventHub>();
        builder.Services.AddSingleton<TaskEventFollower>();
        builder.Services.AddHostedService<TaskEventRecheck>();

        builder.Services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<WebhookStore>();
        builder.Services.AddSingleton<WebhookDestinations>();
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookSender>());
        // Receivers are outside the deployment: no proxy from the environment, no redirects, and every connection
        // goes through the destination check.
        builder.Services.AddHttpClient(WebhookSender.HttpClientName).ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
        {
            ConnectCallback = sp.GetRequiredService<WebhookDestinations>().ConnectAsync,
            AllowAutoRedirect = false,
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        });
        return builder;
    }

    /// <summary>TaskApi sends commands, and listens for <c>TaskEventsAppended</c> to wake readers following a task.</summary>
    public static IBusRegistrationConfigurator AddTaskApiMessaging(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<TaskEventsAppendedConsumer, TaskEventsAppendedConsumerDefinition>();
        bus.AddRequestClient<ListAgentTools>(QueueNames.AgentToolsAddress);
        return bus;
    }

    public static IEndpointRouteBuilder MapTaskApi(this IEndpointRouteBuilder app)
    {
        app.MapConversationEndpoints();
        app.MapMessageEndpoints();
        app.MapTaskEndpoints();
        app.MapStreamEndpoints();
        app.MapAgentEndpoints();
        app.MapAdminEndpoints();
        app.MapToolEndpoints();
        app.MapWebhookEndpoints();
        app.MapUsageEndpoints();
        return app;
    }
}
