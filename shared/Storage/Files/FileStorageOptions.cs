using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.Storage.Files;

/// <summary>Where workspaces live: <c>s3</c> (production, any S3 API such as MinIO) or <c>local</c> (a folder; the embedded default).</summary>
public sealed class FileStorageOptions
{
    public const string SectionName = "FileStorage";
    public const long DefaultMaxUploadBytes = 100L * 1024 * 1024;

    /// <summary><c>s3</c> or <c>local</c>.</summary>
    [Required, RegularExpression("(?i)^(s3|local)$", ErrorMessage = "FileStorage:Provider must be 's3' or 'local'")]
    public string Provider { get; set; } = "local";

    /// <summary>The folder of the <c>local</c> provider; workspaces are <c>{LocalRoot}/{userId}/</c>.</summary>
    [Required]
    public string LocalRoot { get; set; } = ".data/files";

    public S3StorageOptions S3 { get; set; } = new();

    /// <summary>Largest upload accepted (bytes); larger ones get 413. At most 5 GiB (one S3 server-side copy).</summary>
    [Range(1, 5L * 1024 * 1024 * 1024)]
    public long MaxUploadBytes { get; set; } = DefaultMaxUploadBytes;

    /// <summary>
    /// Bytes of files one user may keep (uploads and files the agent writes); a write that would go beyond it gets 413
    /// saying how much is used. 0 turns the quota off. Checked at each write from a listing of the user's files, so
    /// uploads racing each other can overshoot it by what they carry.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long QuotaBytesPerUser { get; set; } = 1024L * 1024 * 1024;

    /// <summary>
    /// How long a process trusts its count of a user's bytes (kept current by its own writes) before listing the
    /// workspace again; other processes' writes show up within this. Near the quota the count is always taken afresh.
    /// </summary>
    [Range(0, 86_400)]
    public int QuotaRecountSeconds { get; set; } = 60;

    public bool IsS3 => string.Equals(Provider, "s3", StringComparison.OrdinalIgnoreCase);
}
