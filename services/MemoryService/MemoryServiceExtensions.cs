using Agents.Micro.MemoryService.Consumers;
using Agents.Micro.MemoryService.Endpoints;
using Agents.Micro.MemoryService.Search;
using Agents.Micro.ServiceDefaults.Data;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;

namespace Agents.Micro.MemoryService;

public static class MemoryServiceExtensions
{
    /// <summary>The memory store (its own tables in the configured database) and its limits. The host adds auth and messaging.</summary>
    public static IHostApplicationBuilder AddMemoryService(this IHostApplicationBuilder builder)
    {
        builder.AddDatabase();
        builder.Services.AddOptions<MemoryOptions>().BindConfiguration(MemoryOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        // The embeddings endpoint through IHttpClientFactory with the standard resilience pipeline (retries with backoff
        // on 408/429/5xx and connection failures, honouring Retry-After; a circuit breaker; timeouts per attempt and in
        // all, the latter Memory:Embeddings:TimeoutSeconds). Unused while no endpoint is configured.
        builder.Services.AddHttpClient(nameof(EmbeddingClient))
            // The client lives as long as the service: recycle pooled connections so DNS changes are seen.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
            .AddStandardResilienceHandler()
            .Configure((resilience, sp) =>
            {
                var total = TimeSpan.FromSeconds(Math.Max(1, sp.GetRequiredService<IOptions<MemoryOptions>>().Value.Embeddings.TimeoutSeconds));
                resilience.TotalRequestTimeout.Timeout = total;
                resilience.AttemptTimeout.Timeout = total / 2;
                resilience.CircuitBreaker.SamplingDuration = total * 2 < TimeSpan.FromSeconds(30) ? TimeSpan.FromSeconds(30) : total * 2;
            });
        builder.Services.AddSingleton(sp => new EmbeddingClient(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(EmbeddingClient)),
            sp.GetRequiredService<IOptions<MemoryOptions>>(), sp.GetRequiredService<ILogger<EmbeddingClient>>()));
        builder.Services.AddSingleton<IMemoryStore, SqlMemoryStore>();
        builder.Services.AddSchemaInitializer<IMemoryStore>("memory", (s, ct) => s.EnsureSchemaAsync(ct));
        return builder;
    }

    /// <summary>
    /// The request/response consumers the agent worker calls (<c>IRequestClient&lt;RecallMemories&gt;</c>,
    /// <c>IRequestClient&lt;SaveMemory&gt;</c>), so that no other service reads the memory tables.
    /// </summary>
    public static IBusRegistrationConfigurator AddMemoryServiceMessaging(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<RecallMemoriesConsumer, RecallMemoriesConsumerDefinition>();
        bus.AddConsumer<SaveMemoryConsumer, SaveMemoryConsumerDefinition>();
        return bus;
    }

    public static IEndpointRouteBuilder MapMemoryService(this IEndpointRouteBuilder app)
    {
        app.MapLongTermMemoryEndpoints();
        app.MapMemoryEndpoints();
        return app;
    }
}
