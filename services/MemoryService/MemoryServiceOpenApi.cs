using System.ComponentModel.DataAnnotations;
using System.ComponentModel;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Agents.Micro.MemoryService;

/// <summary>
/// The memory service's OpenAPI document (<c>/openapi/v1.json</c>), which the gateway merges into its own. The handlers
/// read their bodies with StrictJson and their queries themselves, so both are described here.
/// </summary>
public static class MemoryServiceOpenApi
{
    /// <summary>Use as <c>builder.Services.AddOpenApi(o =&gt; o.DescribeMemoryService())</c>; the host then calls <c>app.MapOpenApi()</c>.</summary>
    public static OpenApiOptions DescribeMemoryService(this OpenApiOptions o) =>
        o.DescribeService("Agents.Micro memory service", "Per-user long-term memory: write, list, search, delete.");
}

/// <summary>The body of <c>POST /api/v1/memories</c>: bound and validated by StrictJson.ReadAsync, and shown in the document.
/// The content's and the tags' limits are settings (MemoryInput checks them).</summary>
public sealed record CreateMemoryRequest(
    [property: Required, Description("the memory's text")] string? Content,
    [property: Description("optional tags")] IReadOnlyList<string>? Tags = null);

/// <summary>The body of <c>POST /agent/write/longterm</c>: bound and validated by StrictJson.ReadAsync, and shown in the document.</summary>
public sealed record LongTermWriteRequest(
    [property: Required, StringLength(128), Description("must be the caller (admins may write for anyone)")] string? UserId,
    [property: Required, Description("the memory's text")] string? MemoryInfo);
