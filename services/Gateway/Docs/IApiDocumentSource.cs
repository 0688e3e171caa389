namespace Agents.Micro.Gateway.Docs;

/// <summary>Where the documents to merge come from: the proxied services, or the endpoints of this very process.</summary>
public interface IApiDocumentSource
{
    Task<IReadOnlyList<ApiDocumentPart>> GetPartsAsync(CancellationToken ct);
}
