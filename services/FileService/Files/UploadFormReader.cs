using System.Text;
using Agents.Micro.Storage.Files;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Agents.Micro.FileService.Files;

/// <summary>
/// Reads an upload form (<c>file</c>, optional <c>filename</c> and <c>dir</c>, in any order) section by section,
/// streaming the file part straight into the store's staging area: the form is never buffered, and the file is
/// published only once the whole form has been read and validated. When both text fields come before the file
/// (the usual order) the target is known up front and the store writes in place.
/// </summary>
public sealed class UploadFormReader(IFileStore store, string userId, long maxBytes, FileQuota? quota = null)
{
    public const int MaxFieldBytes = 4096;
    private const int MaxBoundaryLength = 70; // RFC 2046

    /// <summary>Reads, validates and commits the upload; a failure of any kind leaves storage as it was.</summary>
    public async Task<UploadOutcome> UploadAsync(HttpRequest request, CancellationToken ct)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType) ||
            !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            return UploadOutcome.Fail(StatusCodes.Status415UnsupportedMediaType, "upload must be multipart/form-data with a 'file' part");
        var boundary = HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value;
        if (string.IsNullOrEmpty(boundary) || boundary.Length > MaxBoundaryLength)
            return UploadOutcome.Fail(StatusCodes.Status400BadRequest, "multipart/form-data needs a boundary of 1 to 70 characters");

        var reader = new MultipartReader(boundary, request.Body) { HeadersCountLimit = 8, HeadersLengthLimit = 8 * 1024 };
        IStagedFile? staged = null;
        try
        {
            string? dirField = null, filenameField = null, partFileName = null;
            for (var section = await NextAsync(reader, ct); section is not null; section = await NextAsync(reader, ct))
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var cd) || !cd.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                    return UploadOutcome.Fail(400, "every multipart section needs 'Content-Disposition: form-data; name=…'");
                var name = HeaderUtilities.RemoveQuotes(cd.Name).Value;
                switch (name)
                {
                    case "file":
                        if (staged is not null) return UploadOutcome.Fail(400, "only one 'file' part is allowed");
                        partFileName = FileNameOf(cd);
                        // Refuse before reading the content what is already known to be invalid; when both fields
                        // came first the target is final, and the store can write in place.
                        string? target = null;
                        if (dirField is not null && !WorkspacePath.TryNormalize(dirField, allowRoot: true, out _, out var dirError))
                            return UploadOutcome.Fail(400, "invalid 'dir': " + dirError);
                        if (dirField is not null && filenameField is not null)
                        {
                            var early = ResolveTarget(dirField, filenameField, partFileName);
                            if (early.Error is not null) return early;
                            target = early.Path;
                        }
                        else if (filenameField is { Length: > 0 } && !WorkspacePath.TryNormalizeName(filenameField, out _, out var nameError))
                        {
                            return UploadOutcome.Fail(400, "invalid file name: " + nameError);
                        }
                        staged = await store.StageAsync(userId, section.Body, maxBytes, target, ct);
                        break;
                    case "dir" or "filename":
                        if ((name == "dir" ? dirField : filenameField) is not null) return UploadOutcome.Fail(400, $"form field '{name}' given more than once");
                        var value = await ReadFieldAsync(section.Body, ct);
                        if (value is null) return UploadOutcome.Fail(400, $"form field '{name}' must be UTF-8 text of at most {MaxFieldBytes} bytes");
                        if (name == "dir") dirField = value;
                        else filenameField = value;
                        break;
                    default:
                        return UploadOutcome.Fail(400, $"unknown form field '{Shorten(name)}' (expected 'file', 'filename', 'dir')");
                }
            }
            if (staged is null) return UploadOutcome.Fail(400, "missing 'file' part");

            var resolved = ResolveTarget(dirField, filenameField, partFileName);
            if (resolved.Error is not null) return resolved;
            var check = quota is null ? null : await quota.CheckAsync(userId, resolved.Path!, staged.Size, ct);
            if (check?.Error is { } overQuota) return UploadOutcome.Fail(StatusCodes.Status413PayloadTooLarge, overQuota);
            var written = await staged.CommitAsync(resolved.Path!, ct);
            quota?.Wrote(userId, written.Size, check?.Replaced ?? 0);
            return resolved with { Written = written };
        }
        catch (FileTooLargeException ex)
        {
            return UploadOutcome.Fail(StatusCodes.Status413PayloadTooLarge, $"file is larger than the upload limit of {ex.MaxBytes} bytes");
        }
        catch (FileConflictException ex)
        {
            return UploadOutcome.Fail(StatusCodes.Status409Conflict, ex.Message);
        }
        catch (InvalidDataException ex)
        {
            // MultipartReader's verdict on a malformed body (header limits, bad framing).
            return UploadOutcome.Fail(400, "malformed multipart body: " + Shorten(ex.Message));
        }
        catch (IOException ex) when (ex is not BadHttpRequestException && !ct.IsCancellationRequested)
        {
            // The body ended before the closing boundary.
            return UploadOutcome.Fail(400, "malformed multipart body: " + Shorten(ex.Message));
        }
        finally
        {
            if (staged is not null) await staged.DisposeAsync();
        }
    }

    private static async Task<MultipartSection?> NextAsync(MultipartReader reader, CancellationToken ct) => await reader.ReadNextSectionAsync(ct);

    /// <summary>The stored path from the form: <c>dir</c> (default: the workspace root) and <c>filename</c> (default: the part's file name).</summary>
    private static UploadOutcome ResolveTarget(string? dirField, string? filenameField, string? partFileName)
    {
        if (!WorkspacePath.TryNormalize(dirField, allowRoot: true, out var dir, out var error))
            return UploadOutcome.Fail(400, "invalid 'dir': " + error);
        var rawName = string.IsNullOrEmpty(filenameField) ? partFileName : filenameField;
        if (string.IsNullOrEmpty(rawName)) return UploadOutcome.Fail(400, "file name missing: give a 'filename' field or a filename on the 'file' part");
        if (!WorkspacePath.TryNormalizeName(rawName, out var name, out error))
            return UploadOutcome.Fail(400, "invalid file name: " + error);
        if (!WorkspacePath.TryNormalize(WorkspacePath.Combine(dir, name), allowRoot: false, out var path, out error))
            return UploadOutcome.Fail(400, "invalid path: " + error);
        return new UploadOutcome(StatusCodes.Status200OK, null, path, name, null);
    }

    // RFC 5987 filename* wins over filename, which browsers send as raw UTF-8 and .NET clients as a MIME encoded-word.
    private static string? FileNameOf(ContentDispositionHeaderValue cd)
    {
        if (cd.FileNameStar.HasValue) return cd.FileNameStar.Value;
        return cd.FileName.HasValue ? HeaderUtilities.UnescapeAsQuotedString(cd.FileName).Value : null;
    }

    private static async Task<string?> ReadFieldAsync(Stream body, CancellationToken ct)
    {
        var buffer = new byte[MaxFieldBytes + 1];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(read), ct)) > 0) read += n;
        if (read > MaxFieldBytes) return null;
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer, 0, read);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    private static string Shorten(string? s) => s is null ? "" : s.Length > 64 ? s[..64] + "…" : s;
}

/// <summary>The outcome of an upload: the stored file, or the status and error to answer with.</summary>
public sealed record UploadOutcome(int Status, string? Error, string? Path, string? FileName, FileWriteResult? Written)
{
    public static UploadOutcome Fail(int status, string error) => new(status, error, null, null, null);
}
