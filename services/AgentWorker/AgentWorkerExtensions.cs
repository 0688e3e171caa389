using Agents.Micro.Storage.Usage;
using Agents.Micro.AgentWorker.Consumers;
using Agents.Micro.AgentWorker.Runtime;
using Agents.Micro.AgentWorker.Tools.Mcp;
using Agents.Micro.AgentWorker.Tools;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.Storage.Files;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Trace;

namespace Agents.Micro.AgentWorker;

public static class AgentWorkerExtensions
{
    /// <summary>The agent runtime: task runner, models, tools, and the graceful drain on shutdown.</summary>
    public static IHostApplicationBuilder AddAgentWorker(this IHostApplicationBuilder builder)
    {
        builder.AddDatabase();
        builder.Services.AddOptions<WorkerOptions>().BindConfiguration(WorkerOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<LocalModelOptions>().BindConfiguration(LocalModelOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ModelCatalogOptions>().BindConfiguration(ModelCatalogOptions.SectionName);
        builder.Services.TryAddSingleton<ITaskStore, SqlTaskStore>();
        builder.AddUsageBudgets();
        builder.Services.AddSingleton<WorkerIdentity>();
        builder.Services.AddSingleton<RunningTasks>();
        builder.Services.AddSingleton<ModelFactory>();
        builder.Services.AddSingleton<EventNotifier>();
        builder.Services.AddSingleton<GroupCommitter>();
        builder.Services.AddScoped<TaskRunner>();
        builder.Services.AddScoped<RunStateLoader>();
        builder.Services.AddScoped<ToolRegistry>();
        builder.AddFileStore();
        builder.Services.AddScoped<IAgentTool, ListFilesTool>();
        builder.Services.AddScoped<IAgentTool, ReadFileTool>();
        builder.Services.AddScoped<IAgentTool, WriteFileTool>();
        builder.Services.AddSingleton<IImageLoader, WorkspaceImageLoader>();
        builder.Services.AddScoped<IAgentTool, RememberTool>();
        builder.Services.AddScoped<IAgentTool, RecallTool>();
        // MCP tool servers (Mcp:Servers): connected in the background at start-up, reconnected when they die.
        builder.Services.AddOptions<McpOptions>().BindConfiguration(McpOptions.SectionName).ValidateDataAnnotations();
        builder.Services.AddSingleton<McpToolCatalog>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<McpToolCatalog>());
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource(McpToolCatalog.SdkActivitySource));
        builder.Services.AddSchemaInitializer<ITaskStore>("task", (s, ct) => s.EnsureSchemaAsync(ct));
        // Registered after MassTransit's hosted service when the host adds messaging next: stops first, drains, then the bus stops.
        // Before WorkerDrain: hosted services stop in reverse order, so leases are renewed until the drain is over.
        builder.Services.AddHostedService<LeaseKeeper>();
        builder.Services.AddHostedService<WorkerDrain>();
        return builder;
    }

    public static IBusRegistrationConfigurator AddAgentWorkerMessaging(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<RunTaskConsumer, RunTaskConsumerDefinition>();
        bus.AddConsumer<ResumeTaskConsumer, ResumeTaskConsumerDefinition>();
        bus.AddConsumer<CancelTaskConsumer, CancelTaskConsumerDefinition>();
        bus.AddConsumer<ListAgentToolsConsumer, ListAgentToolsConsumerDefinition>();
        bus.AddRequestClient<RecallMemories>();
        bus.AddRequestClient<SaveMemory>();
        return bus;
    }
}

/// <summary>
/// On SIGTERM: stop taking work, stop every running task at its current step, hand it back (release the lease and
/// re-send it) so another worker continues at once, and wait at most <c>Worker:DrainSeconds</c>.
/// </summary>
internal sealed class WorkerDrain(IHostApplicationLifetime lifetime, RunningTasks running, IOptions<WorkerOptions> options, ILogger<WorkerDrain> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(() =>
        {
            if (running.Count > 0) log.LogInformation("draining {Count} running tasks", running.Count);
            running.StopAll(StopReason.Shutdown);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => running.WaitEmptyAsync(TimeSpan.FromSeconds(options.Value.DrainSeconds));
}
