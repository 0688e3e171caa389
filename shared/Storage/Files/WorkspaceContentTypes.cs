using Microsoft.AspNetCore.StaticFiles;

namespace Agents.Micro.Storage.Files;

/// <summary>The media type of a workspace file by its extension (downloads, and images handed to a model).</summary>
public static class WorkspaceContentTypes
{
    private static readonly FileExtensionContentTypeProvider Provider = new();

    public const string Fallback = "application/octet-stream";

    public static string For(string path) => Provider.TryGetContentType(path, out var type) ? type : Fallback;

    public static bool IsImage(string path) => For(path).StartsWith("image/", StringComparison.Ordinal);
}
