using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Agents.Micro.Storage.Files;

/// <summary>
/// The one validator for paths inside a user's workspace, used by the file API and the agent's file tools alike.
/// A valid path is relative, uses <c>/</c> between segments, and every segment is a real name: no <c>.</c> or
/// <c>..</c>, no empty segment (<c>a//b</c>, a leading or trailing <c>/</c>), no backslash, no control or
/// bidirectional-override characters, no leading/trailing whitespace, at most <see cref="MaxSegmentBytes"/> UTF-8
/// bytes per segment and <see cref="MaxPathBytes"/> in all. Any Unicode name (Chinese included) is allowed and is
/// normalized to NFC, so the same name typed on different systems maps to one file.
/// The workspace root is the empty string; clients may spell it <c>""</c> or <c>"."</c>.
/// </summary>
public static class WorkspacePath
{
    /// <summary>Longest name of one file or directory (what ext4 and most file systems allow).</summary>
    public const int MaxSegmentBytes = 255;

    /// <summary>Longest path; leaves room under S3's 1024-byte key limit for the <c>users/{userId}/</c> prefix.</summary>
    public const int MaxPathBytes = 768;

    /// <summary>Deepest nesting accepted.</summary>
    public const int MaxDepth = 32;

    /// <summary>Longest user id that can own a workspace.</summary>
    public const int MaxUserIdLength = 128;

    /// <summary>The workspace root.</summary>
    public const string Root = "";

    /// <summary>
    /// Validates and normalizes a client-supplied path. <paramref name="allowRoot"/> lets <c>null</c>, <c>""</c> and
    /// <c>"."</c> stand for the workspace root (listing, a target directory); a file path must name something.
    /// </summary>
    public static bool TryNormalize(string? raw, bool allowRoot, [NotNullWhen(true)] out string? path, [NotNullWhen(false)] out string? error)
    {
        path = null;
        if (string.IsNullOrEmpty(raw) || raw == ".")
        {
            if (allowRoot)
            {
                path = Root;
                error = null;
                return true;
            }
            error = "path must name a file or directory";
            return false;
        }
        if (raw.Length > MaxPathBytes * 2)
        {
            error = $"path is too long (at most {MaxPathBytes} bytes)";
            return false;
        }
        if (raw[0] == '/')
        {
            error = "path must be relative to the workspace (no leading '/')";
            return false;
        }
        if (raw.Contains('\\'))
        {
            error = "path must use '/' between names (no '\\')";
            return false;
        }
        if (!CheckCharacters(raw, out error)) return false;

        var normalized = raw.IsNormalized(NormalizationForm.FormC) ? raw : raw.Normalize(NormalizationForm.FormC);
        var segments = normalized.Split('/');
        if (segments.Length > MaxDepth)
        {
            error = $"path is nested too deeply (at most {MaxDepth} levels)";
            return false;
        }
        foreach (var segment in segments)
            if (!CheckSegment(segment, out error)) return false;
        if (Encoding.UTF8.GetByteCount(normalized) > MaxPathBytes)
        {
            error = $"path is too long (at most {MaxPathBytes} bytes)";
            return false;
        }
        path = normalized;
        error = null;
        return true;
    }

    /// <summary>Like <see cref="TryNormalize"/> but throws <see cref="ArgumentException"/> with the reason.</summary>
    public static string Normalize(string? raw, bool allowRoot = false) =>
        TryNormalize(raw, allowRoot, out var path, out var error) ? path : throw new ArgumentException(error, nameof(raw));

    /// <summary>Validates one file or directory name (no <c>/</c>), normalized to NFC.</summary>
    public static bool TryNormalizeName(string? raw, [NotNullWhen(true)] out string? name, [NotNullWhen(false)] out string? error)
    {
        name = null;
        if (string.IsNullOrEmpty(raw))
        {
            error = "file name must not be empty";
            return false;
        }
        if (raw.Contains('/') || raw.Contains('\\'))
        {
            error = "file name must not contain '/' or '\\'";
            return false;
        }
        if (!TryNormalize(raw, allowRoot: false, out name, out error))
        {
            name = null;
            return false;
        }
        return true;
    }

    /// <summary>
    /// Whether a user id can own a workspace: it becomes one path segment (a folder, or the <c>users/{id}/</c> key
    /// prefix), so it must be a valid name that cannot be confused with the store's own entries (no leading dot).
    /// </summary>
    public static bool IsValidUserId(string? userId) =>
        !string.IsNullOrEmpty(userId) && userId.Length <= MaxUserIdLength && userId[0] != '.' &&
        !userId.Contains('/') && !userId.Contains('\\') && CheckCharacters(userId, out _) && CheckSegment(userId, out _) &&
        userId.IsNormalized(NormalizationForm.FormC);

    /// <summary>Throws unless <see cref="IsValidUserId"/>; stores call this before touching anything.</summary>
    public static void EnsureValidUserId(string userId)
    {
        if (!IsValidUserId(userId)) throw new ArgumentException("user id cannot own a workspace", nameof(userId));
    }

    /// <summary>Joins a (normalized) directory and a (normalized) name.</summary>
    public static string Combine(string dir, string name) => dir.Length == 0 ? name : dir + "/" + name;

    /// <summary>The last segment of a normalized path ("" for the root).</summary>
    public static string NameOf(string path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>The parent directory of a normalized path ("" for a top-level entry), or null for the root itself.</summary>
    public static string? ParentOf(string path)
    {
        if (path.Length == 0) return null;
        var i = path.LastIndexOf('/');
        return i < 0 ? Root : path[..i];
    }

    /// <summary>How a normalized path is shown to clients: the root is <c>"."</c>.</summary>
    public static string Display(string path) => path.Length == 0 ? "." : path;

    private static bool CheckCharacters(string s, [NotNullWhen(false)] out string? error)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '\0')
            {
                error = "path must not contain NUL characters";
                return false;
            }
            if (char.IsControl(c))
            {
                error = "path must not contain control characters";
                return false;
            }
            // Bidirectional overrides make "evil\u202Etxt.exe" display as something else; no real name needs them.
            if (c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' or '\uFEFF' or '\uFFFE' or '\uFFFF')
            {
                error = "path must not contain invisible formatting characters";
                return false;
            }
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
            {
                error = "path is not valid Unicode";
                return false;
            }
        }
        error = null;
        return true;
    }

    private static bool CheckSegment(string segment, [NotNullWhen(false)] out string? error)
    {
        if (segment.Length == 0)
        {
            error = "path must not contain empty segments ('//' or a trailing '/')";
            return false;
        }
        if (segment is "." or "..")
        {
            error = "path must not contain '.' or '..' segments";
            return false;
        }
        if (char.IsWhiteSpace(segment[0]) || char.IsWhiteSpace(segment[^1]))
        {
            error = "names must not begin or end with whitespace";
            return false;
        }
        if (Encoding.UTF8.GetByteCount(segment) > MaxSegmentBytes)
        {
            error = $"a name in the path is too long (at most {MaxSegmentBytes} bytes)";
            return false;
        }
        error = null;
        return true;
    }
}
