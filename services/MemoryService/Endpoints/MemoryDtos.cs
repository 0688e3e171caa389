using System.Text.Json.Serialization;

namespace Agents.Micro.MemoryService.Endpoints;

/// <summary>A memory as the API shows it; <c>score</c> appears in search results only.</summary>
public sealed record MemoryDto(
    string Id,
    string Content,
    IReadOnlyList<string> Tags,
    double CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Score = null)
{
    public static MemoryDto From(MemoryRecord m, double? score = null) => new(m.Id, m.Content, m.Tags, m.CreatedAt, score);
}

public sealed record MemoryListResponse(bool Success, IReadOnlyList<MemoryDto> Items, long Total, int Limit, int Offset);

public sealed record MemoryCreatedResponse(bool Success, string Id, bool Duplicate);

public sealed record MemoryResponse(bool Success, MemoryDto Memory);

public sealed record MemoryDeletedResponse(bool Success, string Id);
