using Microsoft.AspNetCore.StaticFiles;

namespace Agents.Micro.Storage.Files;

/// <summary>The media type of a workspace file by its extension (downloads, and images handed to a model).</summary>
public static class WorkspaceContentTypes
{
    private static readonly FileExtensionContentTypeProvider Provider = new();

    public const string Fallback = "application/octet-stream";

    public static string For(string path) => Provider.TryGetContentType(path, out var type) ? type : Fallback;

    /// <summary>
    /// The media type of an image a vision model accepts (PNG, JPEG, GIF, WebP: what OpenAI-compatible endpoints take),
    /// or null. One list for both ends: TaskApi refuses other images at send time, the worker sends these.
    /// </summary>
    public static string? ModelImageType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" => "image/png",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".gif" => "image/gif",
        ".webp" => "image/webp",
        _ => null,
    };
}
