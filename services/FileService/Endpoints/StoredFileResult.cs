using Agents.Micro.Storage.Files;
using Microsoft.Net.Http.Headers;

namespace Agents.Micro.FileService.Endpoints;

/// <summary>Streams one stored file with its length, media type (by extension) and download name.</summary>
public sealed class StoredFileResult(OpenedFile file) : IResult
{
    private const int CopyBufferSize = 64 * 1024;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        await using (file)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCodes.Status200OK;
            DownloadHeaders.Set(response, file.Entry.Name, WorkspaceContentTypes.For(file.Entry.Name));
            response.ContentLength = file.Entry.Size;
            if (file.Entry.ModifiedAt > 0)
                response.Headers.LastModified = HeaderUtilities.FormatDate(DateTimeOffset.FromUnixTimeMilliseconds((long)(file.Entry.ModifiedAt * 1000)));
            await file.Content.CopyToAsync(response.Body, CopyBufferSize, httpContext.RequestAborted);
        }
    }
}
