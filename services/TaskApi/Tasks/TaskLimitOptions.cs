using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.TaskApi.Tasks;

/// <summary>Admission limits on new tasks (section <c>Tasks</c>).</summary>
public sealed class TaskLimitOptions
{
    public const string SectionName = "Tasks";

    /// <summary>
    /// Tasks one user may have queued, running or interrupted (waiting for a human, to run again) at once; a new message
    /// or run beyond it is refused with 429, exactly (checked in the insert's transaction).
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxActivePerUser { get; set; } = 20;
}
