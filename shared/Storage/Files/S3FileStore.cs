using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Util;

namespace Agents.Micro.Storage.Files;

/// <summary>
/// Workspaces in an S3 bucket (MinIO, Ceph radosgw, AWS): user <c>u</c>'s file <c>a/b.txt</c> is the object
/// <c>users/u/a/b.txt</c>, and directories are derived from key prefixes. Content streams through one part-sized
/// buffer: a file that fits in one part is sent with one PUT when committed; a larger one goes up as a multipart
/// upload, part by part, that becomes visible only when completed. Content whose final path is unknown while it
/// streams is uploaded under <c>staging/</c> and copied server-side on commit.
/// </summary>
public sealed class S3FileStore : IFileStore, IDisposable
{
    private const string UsersPrefix = "users/";
    private const string StagingPrefix = "staging/";
    private const long MaxCopyBytes = 5L * 1024 * 1024 * 1024; // S3 limit of one CopyObject; larger copies go part by part.
    private readonly AmazonS3Client _s3;
    private readonly string _bucket;
    private readonly int _partSize;

    public S3FileStore(S3StorageOptions options)
    {
        var config = new AmazonS3Config
        {
            ServiceURL = options.ServiceUrl,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            // The SDK's default flexible checksums (trailing CRC32 on every PUT) are unknown to MinIO/radosgw versions.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        _s3 = new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
        _bucket = options.Bucket;
        _partSize = options.PartSizeBytes;
    }

    public async Task InitializeAsync(CancellationToken ct = default)
    {
        if (await AmazonS3Util.DoesS3BucketExistV2Async(_s3, _bucket)) return;
        try
        {
            await _s3.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, ct);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
            // Another instance created it first.
        }
    }

    public async Task CheckReadyAsync(CancellationToken ct = default) =>
        await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, MaxKeys = 1, Prefix = UsersPrefix }, ct);

    public async Task<IStagedFile> StageAsync(string userId, Stream content, long maxBytes, string? targetPath = null, CancellationToken ct = default)
    {
        var targetKey = targetPath is null ? null : Key(userId, targetPath, allowRoot: false);
        UserPrefix(userId);
        var meter = new ContentMeter(maxBytes);
        var buffer = ArrayPool<byte>.Shared.Rent(_partSize);
        byte[]? spare = null;
        Task<UploadPartResponse>? inFlight = null;
        string? uploadKey = null, uploadId = null;
        try
        {
            var n = await meter.FillAsync(content, buffer.AsMemory(0, _partSize), ct);
            if (n < _partSize)
            {
                // Everything fits in one part: hold it until commit, when one PUT to the final key publishes it.
                var small = new StagedSmall(this, userId, targetPath, buffer, n, meter.Sha256Hex());
                buffer = null;
                return small;
            }

            uploadKey = targetKey ?? StagingPrefix + Guid.NewGuid().ToString("N");
            uploadId = (await _s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _bucket, Key = uploadKey }, ct)).UploadId;
            var parts = new List<PartETag>();
            // Two buffers: the next part is read from the client while the previous one goes to S3, so a big upload
            // takes about the longer of the two transfers, not their sum (memory: two parts, whatever the file's size).
            spare = ArrayPool<byte>.Shared.Rent(_partSize);
            var partNumber = 0;
            while (n > 0)
            {
                partNumber++;
                var upload = _s3.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _bucket, Key = uploadKey, UploadId = uploadId, PartNumber = partNumber,
                    InputStream = new MemoryStream(buffer, 0, n, writable: false), PartSize = n,
                }, ct);
                // Tracked before anything below can throw: a failure must wait for this part, not only the one before.
                var previous = inFlight;
                inFlight = upload;
                (buffer, spare) = (spare, buffer);
                // The part before this one was sent from the buffer about to be refilled: it must be done first.
                if (previous is not null) parts.Add(new PartETag(partNumber - 1, (await previous).ETag));
                n = n < _partSize ? 0 : await meter.FillAsync(content, buffer.AsMemory(0, _partSize), ct);
            }
            if (inFlight is not null) parts.Add(new PartETag(partNumber, (await inFlight).ETag));
            inFlight = null;

            var staged = new StagedLarge(this, userId, targetPath, uploadKey, uploadId, parts, meter.Size, meter.Sha256Hex());
            uploadId = null;
            return staged;
        }
        catch
        {
            // A part still being sent reads from a buffer about to go back to the pool: let it finish (or fail) first.
            if (inFlight is not null) try { await inFlight; } catch (Exception) { }
            if (uploadId is not null) await AbortQuietlyAsync(uploadKey!, uploadId);
            throw;
        }
        finally
        {
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
            if (spare is not null) ArrayPool<byte>.Shared.Return(spare);
            meter.Dispose();
        }
    }

    public async Task<FileEntry?> StatAsync(string userId, string path, CancellationToken ct = default)
    {
        if (path.Length == 0)
        {
            UserPrefix(userId);
            return new FileEntry("", "", true, 0, 0);
        }
        var file = await HeadAsync(Key(userId, path, allowRoot: false), ct);
        if (file is not null) return new FileEntry(path, WorkspacePath.NameOf(path), false, file.ContentLength, Modified(file.LastModified));
        return await DirectoryExistsAsync(userId, path, ct) ? new FileEntry(path, WorkspacePath.NameOf(path), true, 0, 0) : null;
    }

    public async Task<OpenedFile?> OpenReadAsync(string userId, string path, CancellationToken ct = default)
    {
        var key = Key(userId, path, allowRoot: false);
        GetObjectResponse response;
        try
        {
            response = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key }, ct);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        var entry = new FileEntry(path, WorkspacePath.NameOf(path), false, response.ContentLength, Modified(response.LastModified));
        return new OpenedFile(entry, response.ResponseStream, response);
    }

    public async Task<IReadOnlyList<FileEntry>?> ListAsync(string userId, string directory, CancellationToken ct = default)
    {
        var prefix = DirPrefix(userId, directory);
        var items = new List<FileEntry>();
        var found = false;
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix, Delimiter = "/" };
        do
        {
            var page = await _s3.ListObjectsV2Async(request, ct);
            foreach (var p in page.CommonPrefixes ?? [])
            {
                found = true;
                var name = p[prefix.Length..^1];
                if (IsPlainName(name)) items.Add(new FileEntry(WorkspacePath.Combine(directory, name), name, true, 0, 0));
            }
            foreach (var o in page.S3Objects ?? [])
            {
                found = true;
                var name = o.Key[prefix.Length..];
                if (IsPlainName(name))
                    items.Add(new FileEntry(WorkspacePath.Combine(directory, name), name, false, o.Size ?? 0, Modified(o.LastModified)));
            }
            request.ContinuationToken = page.NextContinuationToken;
        } while (request.ContinuationToken is not null);

        if (!found && directory.Length > 0) return null;
        return items.OrderByDescending(e => e.IsDirectory).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
    }

    public async IAsyncEnumerable<FileEntry> EnumerateFilesAsync(string userId, string directory, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var userPrefix = UserPrefix(userId);
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = DirPrefix(userId, directory) };
        do
        {
            var page = await _s3.ListObjectsV2Async(request, ct);
            foreach (var o in page.S3Objects ?? [])
            {
                var path = o.Key[userPrefix.Length..];
                if (WorkspacePath.TryNormalize(path, allowRoot: false, out var normalized, out _) && normalized == path)
                    yield return new FileEntry(path, WorkspacePath.NameOf(path), false, o.Size ?? 0, Modified(o.LastModified));
            }
            request.ContinuationToken = page.NextContinuationToken;
        } while (request.ContinuationToken is not null);
    }

    public async Task<bool> DeleteAsync(string userId, string path, CancellationToken ct = default)
    {
        var key = Key(userId, path, allowRoot: false);
        var deleted = false;
        if (await HeadAsync(key, ct) is not null)
        {
            await _s3.DeleteObjectAsync(_bucket, key, ct);
            deleted = true;
        }
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = key + "/" };
        do
        {
            var page = await _s3.ListObjectsV2Async(request, ct);
            // One DELETE per object: multi-object delete needs a Content-MD5 that not every S3 server accepts without.
            foreach (var o in page.S3Objects ?? [])
            {
                await _s3.DeleteObjectAsync(_bucket, o.Key, ct);
                deleted = true;
            }
            request.ContinuationToken = page.NextContinuationToken;
        } while (request.ContinuationToken is not null);
        return deleted;
    }

    public void Dispose() => _s3.Dispose();

    private async Task<bool> DirectoryExistsAsync(string userId, string directory, CancellationToken ct)
    {
        var page = await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = DirPrefix(userId, directory), MaxKeys = 1 }, ct);
        return (page.S3Objects?.Count ?? 0) > 0;
    }

    private async Task<GetObjectMetadataResponse?> HeadAsync(string key, CancellationToken ct)
    {
        try
        {
            return await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, ct);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Object storage would let <c>a</c> be a file and <c>a/</c> a prefix at once; a folder cannot, so neither may we.</summary>
    private async Task EnsureWritableAsync(string userId, string path, CancellationToken ct)
    {
        // The checks are independent S3 round trips: issued together, a write waits for the slowest, not for their sum.
        var isDirectory = DirectoryExistsAsync(userId, path, ct);
        var parents = new List<(string Path, Task<GetObjectMetadataResponse?> Head)>();
        for (var parent = WorkspacePath.ParentOf(path); !string.IsNullOrEmpty(parent); parent = WorkspacePath.ParentOf(parent))
            parents.Add((parent, HeadAsync(Key(userId, parent, allowRoot: false), ct)));
        await Task.WhenAll(parents.Select(p => (Task)p.Head).Append(isDirectory));
        if (await isDirectory) throw new FileConflictException($"'{path}' is a directory");
        foreach (var (parent, head) in parents)
            if (await head is not null) throw new FileConflictException($"'{parent}' is a file, not a directory");
    }

    private async Task CopyAsync(string sourceKey, string destinationKey, long size, CancellationToken ct)
    {
        if (size <= MaxCopyBytes)
        {
            await _s3.CopyObjectAsync(new CopyObjectRequest
            {
                SourceBucket = _bucket, SourceKey = sourceKey, DestinationBucket = _bucket, DestinationKey = destinationKey,
            }, ct);
            return;
        }
        var uploadId = (await _s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _bucket, Key = destinationKey }, ct)).UploadId;
        try
        {
            var parts = new List<PartETag>();
            const long chunk = 512L * 1024 * 1024;
            for (long start = 0; start < size; start += chunk)
            {
                var r = await _s3.CopyPartAsync(new CopyPartRequest
                {
                    SourceBucket = _bucket, SourceKey = sourceKey, DestinationBucket = _bucket, DestinationKey = destinationKey,
                    UploadId = uploadId, PartNumber = parts.Count + 1, FirstByte = start, LastByte = Math.Min(start + chunk, size) - 1,
                }, ct);
                parts.Add(new PartETag(parts.Count + 1, r.ETag));
            }
            await _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _bucket, Key = destinationKey, UploadId = uploadId, PartETags = parts,
            }, ct);
        }
        catch
        {
            await AbortQuietlyAsync(destinationKey, uploadId);
            throw;
        }
    }

    private async Task AbortQuietlyAsync(string key, string uploadId)
    {
        try
        {
            // Not the caller's token: a cancelled request must still release the parts it uploaded.
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _bucket, Key = key, UploadId = uploadId }, cts.Token);
        }
        catch (Exception)
        {
            // Best effort; an abandoned upload is invisible and a bucket lifecycle rule can expire it.
        }
    }

    private async Task DeleteQuietlyAsync(string key)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _s3.DeleteObjectAsync(_bucket, key, cts.Token);
        }
        catch (Exception)
        {
            // Best effort: staging objects are outside every workspace.
        }
    }

    private static string UserPrefix(string userId)
    {
        WorkspacePath.EnsureValidUserId(userId);
        return UsersPrefix + userId + "/";
    }

    private static string Key(string userId, string path, bool allowRoot)
    {
        var prefix = UserPrefix(userId);
        if (!WorkspacePath.TryNormalize(path, allowRoot, out var normalized, out var error) || normalized != path)
            throw new ArgumentException(error ?? "path is not normalized", nameof(path));
        return prefix + path;
    }

    private static string DirPrefix(string userId, string directory) =>
        directory.Length == 0 ? UserPrefix(userId) : Key(userId, directory, allowRoot: false) + "/";

    private static bool IsPlainName(string name) => WorkspacePath.TryNormalizeName(name, out var n, out _) && n == name;

    private static double Modified(DateTime? lastModified) => lastModified is { } t ? UnixSeconds.From(t.ToUniversalTime()) : 0;

    private sealed class StagedSmall(S3FileStore store, string userId, string? target, byte[] buffer, int length, string sha256) : IStagedFile
    {
        private bool _done;

        public long Size => length;
        public string Sha256 => sha256;

        public async Task<FileWriteResult> CommitAsync(string path, CancellationToken ct = default)
        {
            ObjectDisposedException.ThrowIf(_done, this);
            if (target is not null && target != path) throw new InvalidOperationException($"staged for '{target}', not '{path}'");
            var key = Key(userId, path, allowRoot: false);
            await store.EnsureWritableAsync(userId, path, ct);
            using var body = new MemoryStream(buffer, 0, length, writable: false);
            await store._s3.PutObjectAsync(new PutObjectRequest { BucketName = store._bucket, Key = key, InputStream = body, AutoCloseStream = false }, ct);
            await DisposeAsync();
            return new FileWriteResult(path, length, sha256);
        }

        public ValueTask DisposeAsync()
        {
            if (!_done) ArrayPool<byte>.Shared.Return(buffer);
            _done = true;
            return ValueTask.CompletedTask;
        }
    }

    private sealed class StagedLarge(
        S3FileStore store, string userId, string? target, string uploadKey, string uploadId, List<PartETag> parts, long size, string sha256) : IStagedFile
    {
        private bool _completed;
        private bool _done;

        public long Size => size;
        public string Sha256 => sha256;

        public async Task<FileWriteResult> CommitAsync(string path, CancellationToken ct = default)
        {
            ObjectDisposedException.ThrowIf(_done, this);
            if (target is not null && target != path) throw new InvalidOperationException($"staged for '{target}', not '{path}'");
            var key = Key(userId, path, allowRoot: false);
            await store.EnsureWritableAsync(userId, path, ct);
            await store._s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = store._bucket, Key = uploadKey, UploadId = uploadId, PartETags = parts,
            }, ct);
            _completed = true;
            if (uploadKey != key)
            {
                await store.CopyAsync(uploadKey, key, size, ct);
                await store.DeleteQuietlyAsync(uploadKey);
            }
            _done = true;
            return new FileWriteResult(path, size, sha256);
        }

        public async ValueTask DisposeAsync()
        {
            if (_done) return;
            _done = true;
            if (!_completed) await store.AbortQuietlyAsync(uploadKey, uploadId);
            else if (uploadKey.StartsWith(StagingPrefix, StringComparison.Ordinal)) await store.DeleteQuietlyAsync(uploadKey);
        }
    }
}
