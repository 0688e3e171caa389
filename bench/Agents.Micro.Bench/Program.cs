// The benchmark runner (issue #11). bench/run.sh builds Release, starts the servers and runs this with no arguments.
//   Agents.Micro.Bench                 every scenario on the distributed setup (1 then 2 workers) and the embedded default
//   Agents.Micro.Bench memory-store    the memory store alone (the former bench/MemoryBench; see MemoryStoreBench)
//   Agents.Micro.Bench bare-kestrel | bare-yarp    the gateway baselines (started by the runner as separate processes)
// Environment: BENCH_QUICK=1 (smoke run, < 2 min), BENCH_DURATION (seconds per timed phase), BENCH_ONLY=dispatch,files,…,
// BENCH_ENV="Key=Value;…" (passed to every service), BENCH_RESULTS (output folder, default bench/results),
// BENCH_SETUPS=embedded|distributed (one setup only), BENCH_TASKS (tasks per throughput run).
using System.Diagnostics;
using Agents.Micro.Bench;

switch (args.FirstOrDefault())
{
    case "bare-kestrel": await BareServers.RunKestrelAsync(args[1..]); return 0;
    case "bare-yarp": await BareServers.RunYarpAsync(args[1..]); return 0;
    case "memory-store": await MemoryStoreBench.RunAsync(args[1..]); return 0;
}

var s = Settings.FromEnvironment();
var report = new Report();
var repo = Agents.Micro.TestSupport.TestEnv.RepoRoot;
report.Machine["cores"] = Environment.ProcessorCount.ToString();
report.Machine["commit"] = Environment.GetEnvironmentVariable("BENCH_COMMIT") ?? Git("rev-parse --short HEAD");
report.Machine["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'");
report.Machine["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription;
report.Machine["runtime"] = Environment.Version.ToString();
report.Machine["mode"] = s.Quick ? $"quick (BENCH_QUICK=1, {s.Duration} s phases)" : $"full ({s.Duration} s phases)";
if (Environment.GetEnvironmentVariable("BENCH_ENV") is { Length: > 0 } extra) report.Machine["service env"] = extra;
var total = Stopwatch.StartNew();

async Task Step(string name, Func<Task> run)
{
    if (!s.Runs(name)) return;
    Console.WriteLine($"[{total.Elapsed:mm\\:ss}] {name}");
    try { await run(); }
    catch (Exception ex)
    {
        Console.WriteLine($"    {name} failed: {ex}");
        report.NotAvailable("errors", name, ex.GetType().Name + ": " + ex.Message.Split('\n')[0]);
    }
}

if (s.RunsSetup("distributed"))
{
await using var dist = await Deployment.StartDistributedAsync(workers: 1);
    var baselines = new Baselines(s, report);
    await Step("baselines", async () =>
    {
        await baselines.PostgresAsync(dist.ConnectionString);
        await baselines.MassTransitAsync(dist.VirtualHost);
    });
    var tasks = new TaskScenarios(dist, s, report);
    await Step("warmup", tasks.WarmUpAsync);
    await Step("dispatch", tasks.DispatchLightAsync);
    await Step("dispatch", tasks.DispatchSaturatedAsync);
    await Step("throughput", tasks.ThroughputAsync);
    await Step("throughput", tasks.StreamingThroughputAsync);
    await Step("delivery", tasks.DeliveryAsync);
    await Step("cancel", tasks.CancelAsync);
    await Step("gateway", new GatewayScenario(dist, s, report).RunAsync);
    await Step("files", new FileScenario(dist, s, report).RunAsync);
    await Step("memory", new MemoryScenario(dist, s, report).RunAsync);
    if (s.Runs("throughput") || s.Runs("dispatch"))
    {
        await dist.AddWorkerAsync();
        await Step("warmup", tasks.WarmUpAsync);
        await Step("throughput", tasks.ThroughputAsync);
        await Step("dispatch", tasks.DispatchSaturatedAsync);
        // Four workers on the same machine: what a third and fourth process add (or cost) when the cores are shared.
        await dist.AddWorkerAsync();
        await dist.AddWorkerAsync();
        await Step("warmup", tasks.WarmUpAsync);
        await Step("throughput", tasks.ThroughputAsync);
    }
}

if ((s.Runs("embedded") || s.Only.Length == 0) && s.RunsSetup("embedded"))
{
    await using var embedded = await Deployment.StartEmbeddedAsync();
    var tasks = new TaskScenarios(embedded, s, report);
    await Step("warmup", tasks.WarmUpAsync);
    await Step("dispatch", tasks.DispatchLightAsync);
    await Step("dispatch", tasks.DispatchSaturatedAsync);
    await Step("throughput", tasks.ThroughputAsync);
    await Step("throughput", tasks.StreamingThroughputAsync);
    await Step("cancel", tasks.CancelAsync);
}

report.Machine["bench wall time"] = $"{total.Elapsed.TotalSeconds:F0} s";
var outDir = Environment.GetEnvironmentVariable("BENCH_RESULTS") ?? Path.Combine(repo, "bench", "results");
await report.WriteAsync(outDir);
Console.WriteLine($"wrote {outDir}/latest.md and latest.json ({total.Elapsed.TotalSeconds:F0} s)");
return 0;

string Git(string a)
{
    try
    {
        var p = Process.Start(new ProcessStartInfo("git", a) { RedirectStandardOutput = true, WorkingDirectory = repo })!;
        var o = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return o;
    }
    catch (System.ComponentModel.Win32Exception) { return "unknown"; }
}
