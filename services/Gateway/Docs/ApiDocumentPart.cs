using System.Text.Json.Nodes;

namespace Agents.Micro.Gateway.Docs;

/// <summary>
/// One service's OpenAPI document, or why it is missing. <paramref name="Routes"/> are the gateway's path patterns
/// that lead to this service (null: every path of the document is public as it is).
/// </summary>
public sealed record ApiDocumentPart(string Id, string Service, JsonObject? Document, string? Error, IReadOnlyList<string>? Routes = null);
