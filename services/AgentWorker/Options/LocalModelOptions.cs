using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.AgentWorker.Options;

/// <summary>The built-in deterministic model (section <c>LocalModel</c>).</summary>
public sealed class LocalModelOptions
{
    public const string SectionName = "LocalModel";

    /// <summary>Pause between streamed chunks, so that streaming and cancel can be watched (0 for benchmarks).</summary>
    [Range(0, 10_000)]
    public int ChunkDelayMs { get; set; } = 15;
}
