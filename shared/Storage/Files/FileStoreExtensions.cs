using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Agents.Micro.Storage.Files;

public static class FileStoreExtensions
{
    /// <summary>
    /// Registers the configured <see cref="IFileStore"/> (section <c>FileStorage</c>), its start-up initializer and
    /// a readiness check. Safe to call from every service composed into one host: only the first call registers.
    /// </summary>
    public static IHostApplicationBuilder AddFileStore(this IHostApplicationBuilder builder)
    {
        if (builder.Services.Any(d => d.ServiceType == typeof(FileStoreInitializer))) return builder;
        builder.AddFileStoreReader();
        builder.Services.AddSingleton<FileStoreInitializer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<FileStoreInitializer>());
        builder.Services.AddHealthChecks().AddCheck<FileStoreHealthCheck>("file-store", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// Only the configured <see cref="IFileStore"/>, for a service that looks at users' files without owning them
    /// (TaskApi checks that a message's images exist): no bucket creation at start-up and no readiness check, so an
    /// S3 outage does not take that service out of rotation.
    /// </summary>
    public static IHostApplicationBuilder AddFileStoreReader(this IHostApplicationBuilder builder)
    {
        if (builder.Services.Any(d => d.ServiceType == typeof(IFileStore))) return builder;
        builder.Services.AddOptions<FileStorageOptions>().BindConfiguration(FileStorageOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => !o.IsS3 || (Uri.TryCreate(o.S3.ServiceUrl, UriKind.Absolute, out _) && o.S3.AccessKey.Length > 0 && o.S3.SecretKey.Length > 0),
                "FileStorage:S3:ServiceUrl, AccessKey and SecretKey must be set when FileStorage:Provider is 's3'")
            .Validate(o => !o.IsS3 || Amazon.S3.Util.AmazonS3Util.ValidateV2Bucket(o.S3.Bucket),
                "FileStorage:S3:Bucket must be a valid bucket name (3-63 lowercase letters, digits, '-' and '.')")
            .Validate(o => !o.IsS3 || o.S3.PartSizeBytes is >= 5 * 1024 * 1024 and <= 512 * 1024 * 1024,
                "FileStorage:S3:PartSizeBytes must be between 5 MiB and 512 MiB")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<FileQuota>();
        builder.Services.TryAddSingleton<IFileStore>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<FileStorageOptions>>().Value;
            return o.IsS3 ? new S3FileStore(o.S3) : new LocalFileStore(o.LocalRoot);
        });
        return builder;
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/>, replacing any file there.</summary>
    public static async Task<FileWriteResult> WriteAsync(this IFileStore store, string userId, string path, Stream content, long maxBytes, CancellationToken ct = default)
    {
        await using var staged = await store.StageAsync(userId, content, maxBytes, path, ct);
        return await staged.CommitAsync(path, ct);
    }

    /// <summary>Writes UTF-8 text (the agent's <c>write_file</c>).</summary>
    public static Task<FileWriteResult> WriteTextAsync(this IFileStore store, string userId, string path, string text, CancellationToken ct = default)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return store.WriteAsync(userId, path, new MemoryStream(bytes, writable: false), bytes.LongLength, ct);
    }

    /// <summary>
    /// Reads at most <paramref name="maxBytes"/> of a file as UTF-8 text (the agent's <c>read_file</c>), or null when
    /// no file is there. <see cref="TextRead.Truncated"/> says whether the file was longer; a multi-byte character cut
    /// at the limit is dropped rather than shown as garbage.
    /// </summary>
    public static async Task<TextRead?> ReadTextAsync(this IFileStore store, string userId, string path, int maxBytes, CancellationToken ct = default)
    {
        await using var file = await store.OpenReadAsync(userId, path, ct);
        if (file is null) return null;
        var buffer = new byte[Math.Min(maxBytes, Math.Max(0, file.Entry.Size))];
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await file.Content.ReadAsync(buffer.AsMemory(read), ct);
            if (n == 0) break;
            read += n;
        }
        var truncated = file.Entry.Size > read;
        var length = truncated ? CompleteUtf8Length(buffer.AsSpan(0, read)) : read;
        return new TextRead(file.Entry, Encoding.UTF8.GetString(buffer, 0, length), truncated);
    }

    // Backs off over a UTF-8 sequence that the limit cut in the middle.
    private static int CompleteUtf8Length(ReadOnlySpan<byte> bytes)
    {
        var end = bytes.Length;
        for (var back = 1; back <= 3 && end - back >= 0; back++)
        {
            var b = bytes[end - back];
            if ((b & 0xC0) == 0x80) continue; // continuation byte
            var need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return need > back ? end - back : end;
        }
        return end;
    }
}
