using System.IO.Compression;
using Agents.Micro.Storage.Files;

namespace Agents.Micro.FileService.Endpoints;

/// <summary>
/// Streams a directory as a zip built while it is sent: files are listed page by page and each is copied from the
/// store into its entry, so memory stays flat whatever the directory holds (entries carry data descriptors, Zip64
/// when needed). Entry names are relative to the directory, UTF-8. A store failure midway aborts the connection,
/// so a client never mistakes a cut-off zip for a complete one.
/// </summary>
public sealed class ZipDirectoryResult(IFileStore store, string userId, string directory) : IResult
{
    private static readonly DateTimeOffset ZipEpoch = new(1980, 1, 2, 0, 0, 0, TimeSpan.Zero);

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var ct = httpContext.RequestAborted;
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        var name = directory.Length == 0 ? "workspace" : WorkspacePath.NameOf(directory);
        DownloadHeaders.Set(response, name + ".zip", "application/zip");

        var prefix = directory.Length == 0 ? 0 : directory.Length + 1;
        var output = new AsyncFlushBuffer(response.Body);
        var zip = await ZipArchive.CreateAsync(output, ZipArchiveMode.Create, leaveOpen: true, entryNameEncoding: null, ct);
        await foreach (var file in store.EnumerateFilesAsync(userId, directory, ct))
        {
            await using var source = await store.OpenReadAsync(userId, file.Path, ct);
            if (source is null) continue; // deleted while the zip was being built
            var entry = zip.CreateEntry(file.Path[prefix..], CompressionLevel.Fastest);
            var modified = DateTimeOffset.FromUnixTimeMilliseconds((long)(source.Entry.ModifiedAt * 1000));
            if (modified > ZipEpoch) entry.LastWriteTime = modified;
            await using (var target = await entry.OpenAsync(ct))
                await source.Content.CopyToAsync(target, ct);
            await output.DrainAsync(ct);
        }
        await zip.DisposeAsync(); // writes the central directory
        await output.DrainAsync(ct);
    }
}
