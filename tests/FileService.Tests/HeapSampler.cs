namespace Agents.Micro.FileService.Tests;

/// <summary>
/// Samples the retained managed heap (after a forced full collection) while something runs, and keeps the peak.
/// Allocation totals would count every short-lived buffer; this measures what is held at once, which is what
/// grows when a file is buffered whole.
/// </summary>
public sealed class HeapSampler : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _peak;

    public HeapSampler()
    {
        Baseline = Retained();
        _peak = Baseline;
        _thread = new Thread(() =>
        {
            while (!_stop)
            {
                var now = Retained();
                if (now > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, now);
                Thread.Sleep(25);
            }
        }) { IsBackground = true, Name = "heap sampler" };
        _thread.Start();
    }

    public long Baseline { get; }

    /// <summary>Stops sampling; the highest retained heap seen above the baseline.</summary>
    public long StopAndGetGrowth()
    {
        _stop = true;
        _thread.Join();
        return Math.Max(Interlocked.Read(ref _peak), Retained()) - Baseline;
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private static long Retained() => GC.GetTotalMemory(forceFullCollection: true);
}
