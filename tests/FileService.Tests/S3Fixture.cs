using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Agents.Micro.FileService.Tests;

/// <summary>The real S3 server (radosgw here; AGENTS_TEST_S3_*), in a bucket of its own that is deleted afterwards.</summary>
public sealed class S3Fixture : FileServiceFixture
{
    public static string Url => Environment.GetEnvironmentVariable("AGENTS_TEST_S3_URL") ?? "http://127.0.0.1:7480";
    public static string AccessKey => Environment.GetEnvironmentVariable("AGENTS_TEST_S3_ACCESS_KEY") ?? "minioadmin";
    public static string SecretKey => Environment.GetEnvironmentVariable("AGENTS_TEST_S3_SECRET_KEY") ?? "minioadmin";

    public string Bucket { get; } = "agents-files-test-" + Guid.NewGuid().ToString("N")[..12];

    public AmazonS3Client Client { get; } = new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
    {
        ServiceURL = Url,
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        Timeout = TimeSpan.FromSeconds(30),
        MaxErrorRetry = 1,
    });

    protected override async Task<IDictionary<string, string?>> PrepareAsync()
    {
        // Fails (not skips) when the server is down: the bucket is created by the service at start-up, and this probe says why.
        try { await Client.ListBucketsAsync(); }
        catch (Exception ex) { throw new InvalidOperationException($"S3 server at {Url} is unreachable: {ex.Message}", ex); }
        return new Dictionary<string, string?>
        {
            ["FileStorage:Provider"] = "s3",
            ["FileStorage:S3:ServiceUrl"] = Url,
            ["FileStorage:S3:AccessKey"] = AccessKey,
            ["FileStorage:S3:SecretKey"] = SecretKey,
            ["FileStorage:S3:Bucket"] = Bucket,
            ["FileStorage:S3:PartSizeBytes"] = (5 * 1024 * 1024).ToString(),
        };
    }

    public override async Task<IReadOnlySet<string>> SnapshotAsync()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var request = new ListObjectsV2Request { BucketName = Bucket };
        do
        {
            var page = await Client.ListObjectsV2Async(request);
            foreach (var o in page.S3Objects ?? []) seen.Add($"{o.Key} {o.Size} {o.ETag}");
            request.ContinuationToken = page.NextContinuationToken;
        } while (request.ContinuationToken is not null);
        var uploads = await Client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = Bucket });
        foreach (var u in uploads.MultipartUploads ?? []) seen.Add($"unfinished multipart upload {u.Key}");
        return seen;
    }

    protected override async Task CleanUpAsync()
    {
        try
        {
            var uploads = await Client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = Bucket });
            foreach (var u in uploads.MultipartUploads ?? [])
                await Client.AbortMultipartUploadAsync(Bucket, u.Key, u.UploadId);
            var request = new ListObjectsV2Request { BucketName = Bucket };
            do
            {
                var page = await Client.ListObjectsV2Async(request);
                foreach (var o in page.S3Objects ?? []) await Client.DeleteObjectAsync(Bucket, o.Key);
                request.ContinuationToken = page.NextContinuationToken;
            } while (request.ContinuationToken is not null);
            await Client.DeleteBucketAsync(Bucket);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // The service never started, so there is no bucket.
        }
        Client.Dispose();
    }
}
