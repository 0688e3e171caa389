namespace Agents.Micro.Contracts;

/// <summary>
/// Configuration TaskApi and the workers share, not a message: the models a task may pick with <c>model_key</c>. Read
/// by TaskApi (to refuse an unknown key at send time) and by the worker (to build the provider). Configure with
/// <c>Models__Items__{key}__Provider=openai</c> and so on.
/// </summary>
public sealed class ModelCatalogOptions
{
    public const string SectionName = "Models";

    /// <summary>The key used when a request names none.</summary>
    public string Default { get; set; } = "local";

    public Dictionary<string, ModelDefinition> Items { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["local"] = new ModelDefinition { Provider = "local", Model = "local-deterministic", Thinking = true },
    };

    public ModelDefinition? Find(string? key) =>
        Items.TryGetValue(string.IsNullOrWhiteSpace(key) ? Default : key, out var m) ? m : null;
}

public sealed class ModelDefinition
{
    /// <summary><c>local</c> (built-in, deterministic, no network) or <c>openai</c> (any OpenAI-compatible endpoint).</summary>
    public string Provider { get; set; } = "local";

    /// <summary>Base URL of an OpenAI-compatible API, e.g. <c>https://api.deepseek.com/v1</c>. Empty means OpenAI's.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The provider's model name.</summary>
    public string Model { get; set; } = "";

    /// <summary>Name of the environment variable holding the API key (the key itself never sits in configuration files).</summary>
    public string? ApiKeyEnv { get; set; }

    /// <summary>Accepts image inputs.</summary>
    public bool Vision { get; set; }

    /// <summary>Streams reasoning ("thinking") content or accepts a reasoning effort.</summary>
    public bool Thinking { get; set; }

    /// <summary>
    /// With <see cref="Thinking"/>: send the reasoning of each tool-calling assistant turn back as
    /// <c>reasoning_content</c> (DeepSeek's thinking mode and Kimi require it; turn off for a provider that rejects the field).
    /// </summary>
    public bool EchoReasoning { get; set; } = true;

    /// <summary>Per-request timeout in seconds.</summary>
    public int TimeoutSeconds { get; set; } = 120;

    /// <summary>Retries of transient failures (429, 5xx, network) with exponential backoff.</summary>
    public int MaxRetries { get; set; } = 3;
}
