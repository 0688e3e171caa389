using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Agents.Micro.Bench;

/// <summary>
/// Scenario 5: upload and download through the gateway (→ FileService → S3) against the raw AWSSDK.S3 client on the same
/// radosgw; FileService's and the gateway's resident memory during one big upload.
/// </summary>
public sealed class FileScenario(Deployment d, Settings s, Report report)
{
    public async Task RunAsync()
    {
        await Infra.S3GarbageCollectAsync();
        using var s3 = new AmazonS3Client(new BasicAWSCredentials(Infra.S3Key, Infra.S3Secret), new AmazonS3Config
        {
            ServiceURL = Infra.S3Url,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
        var bucket = "bench-raw-" + Guid.NewGuid().ToString("N")[..8];
        await s3.PutBucketAsync(bucket);
        var api = d.Client();
        try
        {
            foreach (var (size, label, repeats) in new[] { (1 << 20, "1 MiB", s.SmallFileRepeats), (100 << 20, "100 MiB", s.Quick ? 2 : 5) })
            {
                var data = new byte[size];
                Random.Shared.NextBytes(data);
                var put = await TimeAsync(repeats, async i =>
                {
                    using var ms = new MemoryStream(data, writable: false);
                    await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = $"raw/{i}", InputStream = ms, AutoCloseStream = false });
                });
                var get = await TimeAsync(repeats, async i =>
                {
                    using var o = await s3.GetObjectAsync(bucket, $"raw/{i}");
                    await o.ResponseStream.CopyToAsync(Stream.Null);
                });
                var up = await TimeAsync(repeats, async i => await UploadAsync(api, $"f{i}.bin", new MemoryStream(data, writable: false)));
                var direct = d.DirectFileServiceClient();
                var upDirect = await TimeAsync(repeats, async i => await UploadAsync(direct, $"d{i}.bin", new MemoryStream(data, writable: false)));
                var down = await TimeAsync(repeats, async i =>
                {
                    using var r = api.Request(HttpMethod.Get, $"/api/v1/files/download?path=bench/f{i}.bin");
                    using var resp = await api.SendAsync(r, HttpCompletionOption.ResponseHeadersRead);
                    resp.EnsureSuccessStatusCode();
                    await (await resp.Content.ReadAsStreamAsync()).CopyToAsync(Stream.Null);
                });
                Rate($"raw S3 PUT {label}", put, size, null);
                Rate($"raw S3 GET {label}", get, size, null);
                Rate($"upload {label} through the gateway", up, size, $"raw S3 PUT {label}");
                Rate($"upload {label} direct to FileService (signed identity)", upDirect, size, $"raw S3 PUT {label}");
                Rate($"download {label} through the gateway", down, size, $"raw S3 GET {label}");
                for (var i = 0; i < repeats; i++) await s3.DeleteObjectAsync(bucket, $"raw/{i}");
            }
            await DeleteAsync(api);
            await Infra.S3GarbageCollectAsync();
            await BigUploadAsync(api);
        }
        finally
        {
            await DeleteAsync(api);
            var left = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
            foreach (var o in left.S3Objects ?? []) await s3.DeleteObjectAsync(bucket, o.Key);
            await s3.DeleteBucketAsync(bucket);
            await Infra.S3GarbageCollectAsync();
        }
    }

    private async Task BigUploadAsync(Api api)
    {
        var fs = d.FileService!.Pid;
        var gw = d.Gateway.Pid;
        long fsBefore = Infra.Rss(fs), gwBefore = Infra.Rss(gw), fsPeak = 0, gwPeak = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                fsPeak = Math.Max(fsPeak, Infra.Rss(fs));
                gwPeak = Math.Max(gwPeak, Infra.Rss(gw));
                try { await Task.Delay(20, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var sw = Stopwatch.StartNew();
        await UploadAsync(api, "big.bin", new PatternStream(s.BigFileBytes));
        var seconds = sw.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await sampler;
        var mib = s.BigFileBytes / 1048576.0;
        report.Rate("5 files", $"upload {mib:F0} MiB through the gateway", "MiB/s", mib / seconds, note: "streamed from a generator (never in the client's memory)");
        report.Rate("5 files", $"FileService peak RSS during the {mib:F0} MiB upload", "MiB", fsPeak / 1048576.0,
            note: $"before {fsBefore / 1048576.0:F0} MiB → peak {fsPeak / 1048576.0:F0} MiB (+{(fsPeak - fsBefore) / 1048576.0:F0}); VmRSS sampled every 20 ms");
        report.Rate("5 files", $"Gateway peak RSS during the {mib:F0} MiB upload", "MiB", gwPeak / 1048576.0,
            note: $"before {gwBefore / 1048576.0:F0} MiB → peak {gwPeak / 1048576.0:F0} MiB (+{(gwPeak - gwBefore) / 1048576.0:F0})");
    }

    private static async Task UploadAsync(Api api, string name, Stream content)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent("bench"), "dir");
        form.Add(new StreamContent(content, 1 << 20), "file", name);
        using var r = api.Request(HttpMethod.Post, "/api/v1/files/upload", form);
        using var resp = await api.SendAsync(r);
        if (!resp.IsSuccessStatusCode) throw new InvalidOperationException($"upload {name}: {(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync()}");
    }

    private static async Task DeleteAsync(Api api)
    {
        using var r = api.Request(HttpMethod.Delete, "/api/v1/files?path=bench");
        using var _ = await api.SendAsync(r);
    }

    private static async Task<Samples> TimeAsync(int repeats, Func<int, Task> op)
    {
        await op(0); // warm-up (connections, JIT); overwritten below
        var samples = new Samples();
        for (var i = 0; i < repeats; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            await op(i);
            samples.Add(Api.Ms(t0, Stopwatch.GetTimestamp()));
        }
        return samples;
    }

    /// <summary>MiB/s at the median transfer time, with the transfer-time percentiles beside it.</summary>
    private void Rate(string name, Samples times, int size, string? baseline)
    {
        var mib = size / 1048576.0;
        report.Rate("5 files", name, "MiB/s", mib / (times.P(50) / 1000), baseline,
            note: $"per transfer p50 {times.P(50):F1} / p90 {times.P(90):F1} / p99 {times.P(99):F1} ms", n: times.Count);
    }
}

/// <summary>A seekable stream of <c>length</c> generated bytes: a big upload without holding it in memory.</summary>
public sealed class PatternStream(long length) : Stream
{
    private static readonly byte[] Block = RandomBlock();
    private long _pos;

    private static byte[] RandomBlock()
    {
        var b = new byte[1 << 20];
        new Random(1).NextBytes(b);
        return b;
    }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _pos; set => _pos = value; }
    public override void Flush() { }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = (int)Math.Min(Math.Min(count, length - _pos), Block.Length - _pos % Block.Length);
        Buffer.BlockCopy(Block, (int)(_pos % Block.Length), buffer, offset, n);
        _pos += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => _pos = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _pos + offset,
        _ => length + offset,
    };

    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
