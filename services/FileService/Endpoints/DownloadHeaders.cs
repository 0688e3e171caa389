using Microsoft.Net.Http.Headers;

namespace Agents.Micro.FileService.Endpoints;

internal static class DownloadHeaders
{
    /// <summary>
    /// <c>attachment; filename="…"; filename*=UTF-8''…</c>: an ASCII fallback for old clients and the exact name
    /// (RFC 5987/6266) for the rest. Always an attachment, with nosniff, so user content never renders as a page of ours.
    /// </summary>
    public static void Set(HttpResponse response, string fileName, string contentType)
    {
        var disposition = new ContentDispositionHeaderValue("attachment");
        disposition.SetHttpFileName(fileName);
        response.ContentType = contentType;
        response.Headers.ContentDisposition = disposition.ToString();
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.CacheControl = "private, no-store";
    }
}
