namespace Agents.Micro.Bench;

/// <summary>Run length and sizes. BENCH_QUICK=1 shrinks everything to a smoke run; BENCH_DURATION (seconds) sets each timed phase.</summary>
public sealed record Settings(bool Quick, double Duration, int Samples, int Concurrency, int ThroughputTasks, int MemoryCount,
    long BigFileBytes, int BigFileRepeats, int SmallFileRepeats, string[] Only)
{
    public static Settings FromEnvironment()
    {
        var quick = Environment.GetEnvironmentVariable("BENCH_QUICK") is "1" or "true";
        var duration = double.TryParse(Environment.GetEnvironmentVariable("BENCH_DURATION"), out var d) ? d : quick ? 2 : 10;
        var only = (Environment.GetEnvironmentVariable("BENCH_ONLY") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var settings = quick
            ? new Settings(true, duration, Samples: 30, Concurrency: 16, ThroughputTasks: 100, MemoryCount: 5_000,
                BigFileBytes: 128L << 20, BigFileRepeats: 1, SmallFileRepeats: 5, only)
            : new Settings(false, duration, Samples: 500, Concurrency: 64, ThroughputTasks: (int)(duration * 150), MemoryCount: 100_000,
                BigFileBytes: 1L << 30, BigFileRepeats: 3, SmallFileRepeats: 100, only);
        // More tasks for a throughput run long enough to profile (e.g. with dotnet-trace attached).
        return int.TryParse(Environment.GetEnvironmentVariable("BENCH_TASKS"), out var tasks) && tasks > 0 ? settings with { ThroughputTasks = tasks } : settings;
    }

    /// <summary>BENCH_SETUPS=embedded or distributed: only that setup (default both).</summary>
    public bool RunsSetup(string setup) =>
        Environment.GetEnvironmentVariable("BENCH_SETUPS") is not { Length: > 0 } only || only.Split(',').Contains(setup, StringComparer.OrdinalIgnoreCase);

    public bool Runs(string scenario) => Only.Length == 0 || Only.Contains(scenario, StringComparer.OrdinalIgnoreCase);
}
