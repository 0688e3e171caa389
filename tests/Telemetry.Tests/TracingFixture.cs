using System.Diagnostics;
using System.Net.Http.Headers;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.TestSupport;
using Amazon.Runtime;
using Amazon.S3;

namespace Agents.Micro.Telemetry.Tests;

/// <summary>
/// Gateway, TaskApi and two AgentWorkers as OS processes on real RabbitMQ, PostgreSQL and S3 (its own database, vhost
/// and bucket), every one exporting traces and metrics over OTLP/HTTP to the in-process <see cref="OtlpReceiver"/>
/// — configured only with the standard OTEL_* variables, as an operator would.
/// </summary>
public sealed class TracingFixture : IAsyncLifetime
{
    public const string InternalKey = "telemetry-test-internal-key-0123456789abcdef";
    public const string Environment = "otel-test";
    private ProcessDeployment _deployment = null!;
    private readonly string _bucket = "agents-otel-" + Guid.NewGuid().ToString("N")[..12];
    public OtlpReceiver Receiver { get; private set; } = null!;
    public List<ServiceProcess> Workers { get; } = [];
    public ServiceProcess Gateway { get; private set; } = null!;
    public ServiceProcess TaskApi { get; private set; } = null!;

    public static string S3Url => System.Environment.GetEnvironmentVariable("AGENTS_TEST_S3_URL") ?? "http://127.0.0.1:7480";
    private static string S3AccessKey => System.Environment.GetEnvironmentVariable("AGENTS_TEST_S3_ACCESS_KEY") ?? "minioadmin";
    private static string S3SecretKey => System.Environment.GetEnvironmentVariable("AGENTS_TEST_S3_SECRET_KEY") ?? "minioadmin";

    public async ValueTask InitializeAsync()
    {
        Receiver = await OtlpReceiver.StartAsync();
        try { using var s3 = S3(); await s3.ListBucketsAsync(); }
        catch (Exception ex) { throw new InvalidOperationException($"S3 server at {S3Url} is unreachable — scripts/test-infra.sh up: {ex.Message}", ex); }
        // Standard OpenTelemetry variables only: no service name given, so each service names itself.
        _deployment = await ProcessDeployment.CreateAsync("agents-otel", InternalKey,
        [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", Receiver.Endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-otlp-test=from-env"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=" + Environment),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "200"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "500"),
        ]);

        TaskApi = await _deployment.StartAsync("TaskApi");
        (string, string)[] worker =
        [
            ("Logging:Format", "json"), // the production log format: the trace test reads a line of it
            ("FileStorage:Provider", "s3"),
            ("FileStorage:S3:ServiceUrl", S3Url),
            ("FileStorage:S3:AccessKey", S3AccessKey),
            ("FileStorage:S3:SecretKey", S3SecretKey),
            ("FileStorage:S3:Bucket", _bucket),
            // A real MCP server (npm's server-everything over stdio), for the MCP call's span.
            .. McpTestServers.Stdio("everything", McpTestServers.Everything, "stdio"),
        ];
        for (var i = 0; i < 2; i++) Workers.Add(await _deployment.StartAsync("AgentWorker", worker, ready: true));
        Gateway = await _deployment.StartGatewayAsync(TaskApi);
        await TaskApi.WaitHealthyAsync("/health/ready", TimeSpan.FromSeconds(30));
    }

    /// <summary>Warnings and errors the processes logged, for failure messages.</summary>
    public string Problems() => string.Join("\n", Workers.Append(TaskApi).Append(Gateway).SelectMany(p =>
        p.Output.Split('\n').Where(l => l.Contains("warn", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase)
            || l.Contains("exception", StringComparison.OrdinalIgnoreCase)).Select(l => p.Name + ": " + l)).TakeLast(60));

    /// <summary>A client of the gateway with a token from the token store, as an operator issues it.</summary>
    public Task<HttpClient> GatewayClientAsync(string user) => _deployment.ClientAsync(Gateway, user, timeout: TimeSpan.FromSeconds(100));

    private static AmazonS3Client S3() => new(new BasicAWSCredentials(S3AccessKey, S3SecretKey), new AmazonS3Config
    {
        ServiceURL = S3Url,
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        Timeout = TimeSpan.FromSeconds(10),
        MaxErrorRetry = 1,
    });


    public async ValueTask DisposeAsync()
    {
        if (_deployment is not null) await _deployment.DisposeAsync();
        try
        {
            using var s3 = S3();
            var objects = await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = _bucket });
            foreach (var o in objects.S3Objects ?? []) await s3.DeleteObjectAsync(_bucket, o.Key);
            await s3.DeleteBucketAsync(_bucket);
        }
        catch (AmazonS3Exception) { }
        if (Receiver is not null) await Receiver.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class TracingCollection : ICollectionFixture<TracingFixture>
{
    public const string Name = "tracing";
}
