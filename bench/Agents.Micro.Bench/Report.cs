using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Agents.Micro.Bench;

/// <summary>Latency samples in milliseconds; percentiles by the nearest-rank method (no interpolation, no averages).</summary>
public sealed class Samples
{
    private readonly List<double> _ms = [];
    private readonly Lock _gate = new();

    public void Add(double ms)
    {
        lock (_gate) _ms.Add(ms);
    }

    public int Count
    {
        get { lock (_gate) return _ms.Count; }
    }

    public double P(double p)
    {
        lock (_gate)
        {
            if (_ms.Count == 0) return double.NaN;
            var sorted = _ms.Order().ToList();
            return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
        }
    }
}

/// <summary>One row of the results: a latency (p50/p90/p99) or a rate (value), optionally relative to a baseline row.</summary>
public sealed record Figure
{
    public required string Scenario { get; init; }
    public required string Name { get; init; }
    public required string Unit { get; init; }
    public double? P50 { get; init; }
    public double? P90 { get; init; }
    public double? P99 { get; init; }
    /// <summary>Rates (tasks/s, MiB/s, rows/s); for latency rows null.</summary>
    public double? Value { get; init; }
    public int? N { get; init; }
    public string? Baseline { get; init; }
    /// <summary>This figure over its baseline (p50 for latencies, value for rates).</summary>
    public double? Ratio { get; init; }
    public string? Note { get; init; }
}

public sealed class Report
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public List<Figure> Figures { get; } = [];
    public Dictionary<string, string> Machine { get; } = [];

    public Figure Latency(string scenario, string name, Samples s, string? baseline = null, string? note = null)
    {
        var f = new Figure
        {
            Scenario = scenario, Name = name, Unit = "ms", P50 = R(s.P(50)), P90 = R(s.P(90)), P99 = R(s.P(99)), N = s.Count,
            Baseline = baseline, Note = note,
        };
        if (baseline is not null && Find(baseline) is { P50: > 0 } b && f.P50 is { } p) f = f with { Ratio = R(p / b.P50.Value) };
        return Add(f);
    }

    public Figure Rate(string scenario, string name, string unit, double value, string? baseline = null, string? note = null, int? n = null)
    {
        var f = new Figure { Scenario = scenario, Name = name, Unit = unit, Value = R(value), Baseline = baseline, Note = note, N = n };
        if (baseline is not null && Find(baseline) is { Value: > 0 } b) f = f with { Ratio = R(value / b.Value.Value) };
        return Add(f);
    }

    public Figure NotAvailable(string scenario, string name, string why) =>
        Add(new Figure { Scenario = scenario, Name = name, Unit = "n/a", Note = why });

    public Figure Add(Figure f)
    {
        lock (Figures) Figures.Add(f);
        Console.WriteLine($"  {f.Scenario} | {f.Name}: " + (f.Value is { } v ? $"{v} {f.Unit}" : f.P50 is { } p ? $"p50 {p} p90 {f.P90} p99 {f.P99} ms (n={f.N})" : f.Note)
                          + (f.Ratio is { } r ? $"  (x{r} of {f.Baseline})" : ""));
        return f;
    }

    public Figure? Find(string name)
    {
        lock (Figures) return Figures.LastOrDefault(f => f.Name == name);
    }

    private static double? R(double v) => double.IsNaN(v) ? null : Math.Round(v, v >= 100 ? 0 : v >= 10 ? 1 : 3);

    public async Task WriteAsync(string dir)
    {
        Directory.CreateDirectory(dir);
        var json = JsonSerializer.Serialize(new { machine = Machine, figures = Figures }, JsonOptions);
        await File.WriteAllTextAsync(Path.Combine(dir, "latest.json"), json);
        await File.WriteAllTextAsync(Path.Combine(dir, "latest.md"), ToMarkdown());
    }

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Agents.Micro benchmark results").AppendLine();
        sb.AppendLine(string.Join(" · ", Machine.Select(kv => $"{kv.Key}: {kv.Value}"))).AppendLine();
        foreach (var group in Figures.GroupBy(f => f.Scenario))
        {
            sb.AppendLine($"## {group.Key}").AppendLine();
            sb.AppendLine("| figure | p50 | p90 | p99 | rate | n | vs baseline | note |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var f in group)
            {
                string L(double? v) => v is { } x ? x.ToString(CultureInfo.InvariantCulture) + " ms" : "";
                var rate = f.Value is { } v ? $"{v.ToString("N0", CultureInfo.InvariantCulture)} {f.Unit}" : f.Unit == "n/a" ? "n/a" : "";
                if (f.Value is { } small && small < 100) rate = $"{small.ToString(CultureInfo.InvariantCulture)} {f.Unit}";
                var ratio = f.Ratio is { } r ? $"×{r.ToString(CultureInfo.InvariantCulture)} of {f.Baseline}" : "";
                sb.AppendLine($"| {f.Name} | {L(f.P50)} | {L(f.P90)} | {L(f.P99)} | {rate} | {f.N} | {ratio} | {f.Note} |");
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }
}
