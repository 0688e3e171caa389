using Agents.Micro.ServiceDefaults.OpenApi;
using Agents.Micro.FileService.Files;
using Agents.Micro.ServiceDefaults.Errors;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.Storage.Files;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Agents.Micro.FileService.Endpoints;

public static class FileEndpoints
{
    /// <summary>Room for the form's boundaries, headers and text fields on top of the file itself.</summary>
    public const long MaxFormOverheadBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapFileEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/files").RequireAuthorization().WithTags("v1 files");
        api.MapPost("/upload", Upload).WithSummary("upload a file (multipart); an existing file at the path is replaced")
            .WithUploadForm().Produces<UploadResponse>().ProducesErrors(400, 401, 409, 413, 415);
        api.MapGet("", List).WithSummary("one directory level of the workspace, directories first")
            .WithQueryParameter("path", "directory to list (default: the root)").ProducesErrors(400, 401, 404);
        api.MapGet("/download", Download).WithSummary("download a file, or a directory as a zip")
            .WithQueryParameter("path", "file or directory ('.' = the whole workspace)", required: true).WithDownloadResponse().ProducesErrors(400, 401, 404);
        api.MapDelete("", Delete).WithSummary("delete a file, or a directory with everything in it")
            .WithQueryParameter("path", "file or directory", required: true).Produces<DeleteFileResponse>().ProducesErrors(400, 401, 404);
        return app;
    }


    /// <summary>
    /// POST /api/v1/files/upload — multipart <c>file</c> with optional <c>filename</c> and <c>dir</c> (fields in any
    /// order). Stored at <c>{dir}/{filename}</c>, <c>dir</c> defaulting to the workspace root and <c>filename</c> to the
    /// part's file name. Uploading to an existing path replaces that file. Larger than FileStorage:MaxUploadBytes → 413.
    /// </summary>
    public static async Task<Results<Ok<UploadResponse>, JsonHttpResult<ErrorBody>>> Upload(
        HttpContext ctx, IFileStore store, FileQuota quota, IOptions<FileStorageOptions> options, CancellationToken ct)
    {
        var max = options.Value.MaxUploadBytes;
        // Kestrel's default 30 MB body limit would cut uploads short; allow the configured limit plus the form framing.
        if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = max + MaxFormOverheadBytes;
        if (UserOf(ctx) is not { } user) return NoWorkspace();

        var outcome = await new UploadFormReader(store, user, max, quota).UploadAsync(ctx.Request, ct);
        if (outcome.Written is not { } w)
        {
            await DiscardRestOfBodyAsync(ctx.Request, ct);
            return ApiError.Status(outcome.Status, outcome.Error!);
        }
        return TypedResults.Ok(new UploadResponse(true, w.Path, outcome.FileName!, w.Size, w.Sha256));
    }

    /// <summary>GET /api/v1/files?path= — one directory level; <c>base</c> is the normalized path ("." for the root).</summary>
    public static async Task<Results<Ok<ListFilesResponse>, JsonHttpResult<ErrorBody>>> List(HttpContext ctx, IFileStore store, CancellationToken ct)
    {
        if (UserOf(ctx) is not { } user) return NoWorkspace();
        if (!TryPathQuery(ctx, required: false, out var path, out var error)) return ApiError.BadRequest(error);
        var entries = await store.ListAsync(user, path, ct);
        if (entries is null) return ApiError.NotFound($"directory '{path}' not found");
        var items = entries.Select(e => new ListFilesItem(e.Name, e.IsDirectory, e.Size, e.ModifiedAt, e.Path)).ToList();
        return TypedResults.Ok(new ListFilesResponse(true, WorkspacePath.Display(path), items));
    }

    /// <summary>GET /api/v1/files/download?path= — a file as itself, a directory as a zip streamed as it is built.</summary>
    public static async Task<Results<StoredFileResult, ZipDirectoryResult, JsonHttpResult<ErrorBody>>> Download(
        HttpContext ctx, IFileStore store, CancellationToken ct)
    {
        if (UserOf(ctx) is not { } user) return NoWorkspace();
        if (!TryPathQuery(ctx, required: true, out var path, out var error)) return ApiError.BadRequest(error);
        var entry = await store.StatAsync(user, path, ct);
        if (entry is null) return ApiError.NotFound($"'{path}' not found");
        if (entry.IsDirectory) return new ZipDirectoryResult(store, user, path);
        var file = await store.OpenReadAsync(user, path, ct);
        if (file is null) return ApiError.NotFound($"'{path}' not found");
        return new StoredFileResult(file);
    }

    /// <summary>DELETE /api/v1/files?path= — a file, or a directory with everything in it (an addition to the v1 spec).</summary>
    public static async Task<Results<Ok<DeleteFileResponse>, JsonHttpResult<ErrorBody>>> Delete(HttpContext ctx, IFileStore store, FileQuota quota, CancellationToken ct)
    {
        if (UserOf(ctx) is not { } user) return NoWorkspace();
        if (!TryPathQuery(ctx, required: true, out var path, out var error)) return ApiError.BadRequest(error);
        if (path.Length == 0) return ApiError.BadRequest("the workspace root cannot be deleted; delete its entries one by one");
        if (!await store.DeleteAsync(user, path, ct)) return ApiError.NotFound($"'{path}' not found");
        quota.Forget(user);
        return TypedResults.Ok(new DeleteFileResponse(true, path));
    }

    /// <summary>
    /// Reads and drops what the client is still sending (bounded by the body-size limit set above and by time), so
    /// that it gets to read the error instead of a connection reset in the middle of its upload.
    /// </summary>
    private static async Task DiscardRestOfBodyAsync(HttpRequest request, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(30));
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (await request.Body.ReadAsync(buffer, cts.Token) > 0) { }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // Over Kestrel's limit, malformed, or too slow: the connection closes after the answer; nothing to save.
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string? UserOf(HttpContext ctx)
    {
        var user = ctx.Caller().UserId;
        return WorkspacePath.IsValidUserId(user) ? user : null;
    }

    private static JsonHttpResult<ErrorBody> NoWorkspace() => ApiError.BadRequest("this user id cannot own a file workspace");

    private static bool TryPathQuery(HttpContext ctx, bool required, out string path, out string error)
    {
        path = "";
        var raw = ctx.Request.Query["path"];
        if (raw.Count > 1)
        {
            error = "'path' given more than once";
            return false;
        }
        if (required && string.IsNullOrEmpty(raw.ToString()))
        {
            error = "'path' is required (use '.' for the workspace root)";
            return false;
        }
        if (!WorkspacePath.TryNormalize(raw.ToString(), allowRoot: true, out var normalized, out var reason))
        {
            error = "invalid 'path': " + reason;
            return false;
        }
        path = normalized;
        error = "";
        return true;
    }
}
