namespace Agents.Micro.AgentWorker.Runtime;

/// <summary>
/// What a run mode means. <c>run_mode</c> wins over <c>thinking_mode</c>; with neither, <c>fast</c>.
/// | mode     | thinking | default max_iterations | temperature | reasoning effort | memories recalled |
/// | fast     | off      | 6                      | 0.3         | —                | 3                 |
/// | thinking | on       | 10                     | 0.6         | medium           | 5                 |
/// | deep     | on       | 20                     | 0.2         | high             | 10                |
/// An explicit <c>max_iterations</c> replaces the mode's default.
/// </summary>
public sealed record RunSettings(string Mode, bool Thinking, int MaxIterations, float Temperature, string? ReasoningEffort, int RecallLimit)
{
    public static RunSettings From(TaskOptions o)
    {
        var mode = o.RunMode ?? (o.ThinkingMode == true ? "thinking" : "fast");
        var s = mode switch
        {
            "deep" => new RunSettings("deep", true, 20, 0.2f, "high", 10),
            "thinking" => new RunSettings("thinking", true, 10, 0.6f, "medium", 5),
            _ => new RunSettings("fast", false, 6, 0.3f, null, 3),
        };
        return o.MaxIterations is { } n ? s with { MaxIterations = n } : s;
    }
}
