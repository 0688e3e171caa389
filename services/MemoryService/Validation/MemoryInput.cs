namespace Agents.Micro.MemoryService.Validation;

/// <summary>The rules every way in (HTTP or bus) applies to a memory before it is stored.</summary>
public static class MemoryInput
{
    /// <summary>The problem with <paramref name="content"/>, or null when it may be stored.</summary>
    public static string? CheckContent(string? content, MemoryOptions options, string field = "content")
    {
        if (content is null || string.IsNullOrWhiteSpace(content)) return $"'{field}' must not be empty";
        if (content.Length > options.MaxContentLength) return $"'{field}' is longer than {options.MaxContentLength} characters";
        return null;
    }

    /// <summary>The problem with <paramref name="tags"/>, or null; tags are trimmed and de-duplicated in place.</summary>
    public static string? CheckTags(List<string>? tags, MemoryOptions options)
    {
        if (tags is null) return null;
        if (tags.Count > options.MaxTags) return $"'tags' may hold at most {options.MaxTags} items";
        for (var i = 0; i < tags.Count; i++)
        {
            var t = tags[i].Trim();
            if (t.Length == 0) return "'tags' must not contain empty strings";
            if (t.Length > options.MaxTagLength) return $"each tag must be at most {options.MaxTagLength} characters";
            tags[i] = t;
        }
        var distinct = tags.Distinct(StringComparer.Ordinal).ToList();
        tags.Clear();
        tags.AddRange(distinct);
        return null;
    }
}
