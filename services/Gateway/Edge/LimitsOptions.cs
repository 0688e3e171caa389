using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.Gateway.Edge;

/// <summary>Request body limits: uploads may be large, every other call is a small JSON document.</summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Limits";

    /// <summary>Largest file a client may upload (bytes). The multipart envelope is allowed on top.</summary>
    [Range(1, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Room for multipart boundaries and part headers around an upload of <see cref="MaxUploadBytes"/>.</summary>
    [Range(0, 64L * 1024 * 1024)]
    public long MultipartOverheadBytes { get; set; } = 1024 * 1024;

    /// <summary>Largest body of any other request (bytes).</summary>
    [Range(1, long.MaxValue)]
    public long MaxJsonBytes { get; set; } = 1024 * 1024;

    /// <summary>Path prefixes whose requests carry uploads and get the upload limit.</summary>
    public List<string> UploadPathPrefixes { get; set; } = ["/api/v1/files"];

    public long LimitFor(string path)
    {
        foreach (var prefix in UploadPathPrefixes)
        {
            if (path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
                && (path.Length == prefix.Length || path[prefix.Length] == '/'))
                return MaxUploadBytes + MultipartOverheadBytes;
        }
        return MaxJsonBytes;
    }
}
