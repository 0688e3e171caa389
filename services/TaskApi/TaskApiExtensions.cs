using Agents.Micro.ServiceDefaults.Agents;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Tasks;
using Agents.Micro.TaskApi.Endpoints;
using Agents.Micro.TaskApi.Tasks;
using MassTransit;

namespace Agents.Micro.TaskApi;

public static class TaskApiExtensions
{
    /// <summary>Conversations, tasks and their dispatch. The host adds authentication and messaging.</summary>
    public static IHostApplicationBuilder AddTaskApi(this IHostApplicationBuilder builder)
    {
        builder.AddDatabase();
        builder.Services.AddOptions<ModelCatalogOptions>().BindConfiguration(ModelCatalogOptions.SectionName);
        builder.Services.AddOptions<DispatchOptions>().BindConfiguration(DispatchOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<TaskLimitOptions>().BindConfiguration(TaskLimitOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ITaskStore, SqlTaskStore>();
        builder.Services.AddSingleton<ActiveTaskCounter>();
        builder.Services.AddSingleton<TaskDispatcher>();
        builder.Services.AddSingleton<TaskSubmitter>();
        builder.Services.AddSingleton<TaskCanceller>();
        builder.Services.AddSingleton<TaskResumer>();
        builder.Services.AddSchemaInitializer<ITaskStore>("task", (s, ct) => s.EnsureSchemaAsync(ct));
        builder.Services.AddHostedService<StrandedTaskRedispatcher>();
        return builder;
    }

    /// <summary>TaskApi sends commands only; it consumes nothing.</summary>
    public static IBusRegistrationConfigurator AddTaskApiMessaging(this IBusRegistrationConfigurator bus) => bus;

    public static IEndpointRouteBuilder MapTaskApi(this IEndpointRouteBuilder app)
    {
        app.MapConversationEndpoints();
        app.MapMessageEndpoints();
        app.MapTaskEndpoints();
        app.MapAgentEndpoints();
        return app;
    }
}
