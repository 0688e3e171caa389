using System.Globalization;
using System.Text;

namespace Agents.Micro.MemoryService.Search;

/// <summary>
/// Turns text into search terms for Chinese, Japanese, Korean and space-separated languages alike.
/// <list type="bullet">
/// <item>Words of letters and digits (anything that is not CJK) are lower-cased, stop words dropped, plurals folded
/// ("teas" → "tea") with the minimal S-stemmer Lucene uses for English — stronger stemmers mangle names.</item>
/// <item>CJK text has no spaces, so each run of CJK characters gives its character bigrams ("乌龙茶" → "乌龙", "龙茶"),
/// as Lucene's CJKAnalyzer does, and also its single characters. Bigrams make matches precise; single characters make
/// a one-character query ("茶") or a query whose bigrams the memory lacks ("喝茶" vs "喝乌龙茶") still find it,
/// ranked below memories that match the bigrams.</item>
/// </list>
/// Text is NFKC-normalised first so full-width letters and digits match their ASCII forms.
/// </summary>
public static class TextTokenizer
{
    /// <summary>Longest term kept; longer words are cut (they are almost never typed in a query anyway).</summary>
    public const int MaxTermLength = 64;

    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        // Lucene's English stop set, plus the pronouns and auxiliaries that fill first-person memories.
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
        "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
        "i", "me", "my", "we", "our", "you", "your", "he", "him", "his", "she", "her", "its", "am", "were", "been",
        "do", "does", "did", "have", "has", "had", "what", "which", "who", "so",
    };

    /// <summary>The terms a stored memory is indexed under, with their frequencies, and its BM25 length.</summary>
    public static IndexedText ForIndex(string text)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var length = 0;
        Scan(text, (term, primary) =>
        {
            counts[term] = counts.GetValueOrDefault(term) + 1;
            if (primary) length++;
        });
        return new IndexedText(counts, Math.Max(length, 1));
    }

    /// <summary>The distinct terms of a query with how often each occurs in it, and when each single CJK character counts.</summary>
    public static QueryText ForQuery(string text)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var neighbours = new Dictionary<string, List<string[]>>(StringComparer.Ordinal);
        Scan(text, (term, _) => counts[term] = counts.GetValueOrDefault(term) + 1, (ch, bigrams) =>
        {
            if (!neighbours.TryGetValue(ch, out var list)) neighbours[ch] = list = [];
            list.Add(bigrams);
        });
        return new QueryText(counts, neighbours);
    }

    /// <summary>
    /// Emits every term; <c>primary</c> is false for the single characters added inside longer CJK runs, which are also
    /// reported to <paramref name="character"/> with the bigrams of the run that contain them.
    /// </summary>
    private static void Scan(string text, Action<string, bool> emit, Action<string, string[]>? character = null)
    {
        if (string.IsNullOrEmpty(text)) return;
        var normalized = text.IsNormalized(NormalizationForm.FormKC) ? text : text.Normalize(NormalizationForm.FormKC);
        var word = new StringBuilder();
        var cjk = new List<string>();

        void FlushWord()
        {
            if (word.Length == 0) return;
            var w = word.ToString();
            word.Clear();
            // Stop words are checked before stemming: "has" must not become the term "ha".
            if (StopWords.Contains(w)) return;
            w = Stem(w);
            if (w.Length > MaxTermLength) w = w[..MaxTermLength];
            emit(w, true);
        }

        void FlushCjk()
        {
            if (cjk.Count == 0) return;
            if (cjk.Count == 1)
            {
                emit(cjk[0], true);
            }
            else
            {
                for (var i = 0; i + 1 < cjk.Count; i++) emit(cjk[i] + cjk[i + 1], true);
                for (var i = 0; i < cjk.Count; i++)
                {
                    emit(cjk[i], false);
                    if (character is null) continue;
                    string[] bigrams = i == 0 ? [cjk[0] + cjk[1]]
                        : i == cjk.Count - 1 ? [cjk[i - 1] + cjk[i]]
                        : [cjk[i - 1] + cjk[i], cjk[i] + cjk[i + 1]];
                    character(cjk[i], bigrams);
                }
            }
            cjk.Clear();
        }

        foreach (var rune in normalized.EnumerateRunes())
        {
            if (IsCjk(rune))
            {
                FlushWord();
                cjk.Add(rune.ToString());
            }
            else if (Rune.IsLetterOrDigit(rune) || (word.Length > 0 && Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark))
            {
                FlushCjk();
                word.Append(Rune.ToLowerInvariant(rune).ToString());
            }
            else
            {
                FlushWord();
                FlushCjk();
            }
        }
        FlushWord();
        FlushCjk();
    }

    /// <summary>Han ideographs (all extension blocks), kana and Hangul syllables: scripts written without spaces.</summary>
    public static bool IsCjk(Rune r)
    {
        var v = r.Value;
        return v is >= 0x4E00 and <= 0x9FFF      // CJK Unified Ideographs
            or >= 0x3400 and <= 0x4DBF           // Extension A
            or >= 0x20000 and <= 0x3134F         // Extensions B–G
            or >= 0xF900 and <= 0xFAFF           // Compatibility Ideographs
            or >= 0x3040 and <= 0x30FF           // Hiragana, Katakana
            or >= 0x31F0 and <= 0x31FF           // Katakana phonetic extensions
            or >= 0xAC00 and <= 0xD7AF;          // Hangul syllables
    }

    /// <summary>Lucene's EnglishMinimalStemmer (Harman's S-stemmer): plural forms only, ASCII words only.</summary>
    public static string Stem(string w)
    {
        if (w.Length < 3 || w[^1] != 's' || !IsAsciiLetters(w)) return w;
        switch (w[^2])
        {
            case 'u':
            case 's':
                return w;
            case 'e':
                if (w.Length > 3 && w[^3] == 'i' && w[^4] != 'a' && w[^4] != 'e') return w[..^3] + "y";
                if (w[^3] is 'i' or 'a' or 'o' or 'e') return w;
                return w[..^1];
            default:
                return w[..^1];
        }
    }

    private static bool IsAsciiLetters(string w)
    {
        foreach (var c in w)
            if (c is < 'a' or > 'z') return false;
        return true;
    }
}

/// <summary>A memory's index terms (term → frequency) and its length in primary terms.</summary>
public sealed record IndexedText(IReadOnlyDictionary<string, int> Terms, int Length);

/// <summary>
/// A query's terms (term → frequency in the query). A single character taken from a longer CJK run is only worth
/// searching where the query's bigrams around it find nothing: "用户喜欢喝什么茶" should search "茶" alone ("什么茶" is not
/// in the memory "我喜欢喝乌龙茶") but not "用" and "户" ("用户" already matches). Searching every character would
/// add many frequent terms that cost time and blur the ranking.
/// </summary>
public sealed record QueryText(IReadOnlyDictionary<string, int> Terms, IReadOnlyDictionary<string, List<string[]>> CharacterNeighbours)
{
    /// <summary>All terms whose statistics are needed (bigrams and the candidate single characters).</summary>
    public IEnumerable<string> Candidates => Terms.Keys;

    /// <summary>
    /// The terms to search, given which terms occur in the user's memories: every word and bigram, and each single
    /// character that stands alone in the query or that has, somewhere in the query, no occurring bigram around it.
    /// </summary>
    public IReadOnlyDictionary<string, int> Resolve(Func<string, bool> occurs)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (term, count) in Terms)
        {
            if (CharacterNeighbours.TryGetValue(term, out var occurrences)
                && occurrences.All(bigrams => bigrams.Any(occurs))
                && !StandsAlone(term))
                continue;
            result[term] = count;
        }
        return result;
    }

    // A character that is also a one-character run of its own ("茶 and 乌龙") was emitted without neighbours.
    private bool StandsAlone(string ch) =>
        Terms.GetValueOrDefault(ch) > CharacterNeighbours[ch].Count;
}
