using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.Storage.Files;

/// <summary>The S3 endpoint of the <c>s3</c> provider (section <c>FileStorage:S3</c>).</summary>
public sealed class S3StorageOptions
{
    /// <summary>Endpoint URL, e.g. <c>http://minio:9000</c>.</summary>
    public string ServiceUrl { get; set; } = "";

    public string AccessKey { get; set; } = "";

    public string SecretKey { get; set; } = "";

    /// <summary>The bucket; created at start-up when missing. Users are separated by the <c>users/{userId}/</c> prefix.</summary>
    public string Bucket { get; set; } = "agents-files";

    /// <summary>
    /// Size of each multipart-upload part (bytes), and so the most one upload holds in memory. Files up to this size
    /// are sent in one PUT. S3 requires at least 5 MiB.
    /// </summary>
    [Range(5 * 1024 * 1024, 512 * 1024 * 1024)]
    public int PartSizeBytes { get; set; } = 8 * 1024 * 1024;
}
