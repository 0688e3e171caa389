using System.Security.Cryptography;
using System.Text;

namespace Agents.Micro.MemoryService.Search;

/// <summary>What "the same memory" means for de-duplication: equal after NFKC, trimming and collapsing whitespace.</summary>
public static class ContentNormalizer
{
    public static string Normalize(string content)
    {
        var s = content.Normalize(NormalizationForm.FormKC).Trim();
        var sb = new StringBuilder(s.Length);
        var space = false;
        foreach (var c in s)
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }
            if (space) sb.Append(' ');
            space = false;
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Hex SHA-256 of the normalised content: the unique key (user_id, content_sha256) refuses duplicates.</summary>
    public static string Hash(string content) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Normalize(content))));
}
