using Agents.Micro.Storage.Files;

namespace Agents.Micro.TaskApi.Tasks;

/// <summary>
/// Checks a message's <c>images</c> at send time: each must be a valid workspace path to an existing image file of a
/// size a model accepts. A missing image is the client's mistake, so it is a 400 now rather than a failed task later.
/// </summary>
public sealed class MessageImages(IFileStore files)
{
    /// <summary>OpenAI-compatible vision endpoints reject images above ~20 MB; say so before the task is created.</summary>
    public const long MaxImageBytes = 20 * 1024 * 1024;

    /// <summary>The normalized paths, or the error a client can act on.</summary>
    public async Task<(IReadOnlyList<string>? Paths, string? Error)> CheckAsync(string userId, IReadOnlyList<string> images, CancellationToken ct)
    {
        if (images.Count == 0) return (images, null);
        var normalized = new List<string>(images.Count);
        foreach (var raw in images)
        {
            if (!WorkspacePath.TryNormalize(raw, false, out var path, out var error))
                return (null, $"'images': '{raw}' is not a valid workspace path: {error}");
            if (WorkspaceContentTypes.ModelImageType(path) is null)
                return (null, $"'images': '{path}' is not an image a model accepts (expected .png, .jpg, .jpeg, .gif or .webp)");
            normalized.Add(path);
        }
        // Independent lookups: one round trip of latency for the whole list, not one per image.
        var entries = await Task.WhenAll(normalized.Distinct().Select(async p => (Path: p, Entry: await files.StatAsync(userId, p, ct))));
        foreach (var (path, entry) in entries)
        {
            if (entry is null || entry.IsDirectory)
                return (null, $"'images': '{path}' was not found in your files; upload it first (POST /api/v1/files/upload)");
            if (entry.Size > MaxImageBytes)
                return (null, $"'images': '{path}' is {entry.Size} bytes; images may be at most {MaxImageBytes} bytes");
        }
        return (normalized, null);
    }
}
