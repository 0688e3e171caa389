using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.TaskApi.Tasks;

public sealed class DispatchOptions
{
    public const string SectionName = "Dispatch";

    /// <summary>How long a send may wait for the broker before the API answers anyway (the row is the truth).</summary>
    [Range(100, 60_000)]
    public int SendTimeoutMs { get; set; } = 2000;

    /// <summary>A running task nobody has claimed this long after its last dispatch is sent again.</summary>
    [Range(1, 3600)]
    public int RedispatchAfterSeconds { get; set; } = 30;

    /// <summary>How often stranded tasks (undispatched, unclaimed, or with an expired lease) are looked for.</summary>
    [Range(1, 3600)]
    public int SweepIntervalSeconds { get; set; } = 2;
}
