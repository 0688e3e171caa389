
namespace Agents.Micro.AgentWorker.Models;

/// <summary>Builds the model a task's <c>model_key</c> names, from the <c>Models</c> configuration.</summary>
public sealed class ModelFactory(IOptions<ModelCatalogOptions> catalog, IOptions<LocalModelOptions> local, ILoggerFactory logs)
{
    public IChatModel? Create(string? modelKey)
    {
        var def = catalog.Value.Find(modelKey);
        if (def is null) return null;
        return def.Provider.ToLowerInvariant() switch
        {
            "local" => new LocalModel(local.Value),
            "openai" => new OpenAiChatModel(def, logs.CreateLogger<OpenAiChatModel>()),
            _ => throw new InvalidOperationException($"model '{modelKey}': unknown provider '{def.Provider}' (use local or openai)"),
        };
    }

    public ModelDefinition? Definition(string? modelKey) => catalog.Value.Find(modelKey);

    /// <summary>The key a task without <c>model_key</c> runs with.</summary>
    public string DefaultKey => catalog.Value.Default;
}
