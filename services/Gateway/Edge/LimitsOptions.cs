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

    /// <summary>
    /// Longest request target (path and query, bytes as sent) the gateway answers; longer ones get a 414 in the API's
    /// error shape. The server itself accepts request lines up to <see cref="ServerMaxRequestLineBytes"/> so that it is
    /// this check, not the server's bare 414, that answers.
    /// </summary>
    [Range(256, ServerMaxRequestLineBytes - 1024)]
    public int MaxRequestTargetBytes { get; set; } = 8 * 1024;

    /// <summary>The server's own request-line limit, past which it answers without a body (Kestrel's default is 8 KiB).</summary>
    public const int ServerMaxRequestLineBytes = 64 * 1024;

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
