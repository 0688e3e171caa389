using System.ComponentModel.DataAnnotations;

namespace Agents.Micro.Gateway.Docs;

/// <summary>The merged OpenAPI document at <c>/openapi.json</c> (section <c>ApiDocs</c>).</summary>
public sealed class ApiDocsOptions
{
    public const string SectionName = "ApiDocs";

    /// <summary>Where each service serves its own document (relative to a destination's address).</summary>
    public string ServiceDocumentPath { get; set; } = "/openapi/v1.json";

    /// <summary>How long a complete merged document is reused before the services are asked again (seconds).</summary>
    [Range(0, 3600)]
    public double CacheSeconds { get; set; } = 60;

    /// <summary>
    /// How long a document that misses a service is reused: short, so that a service coming back shows up soon,
    /// but not zero, so that a downed service does not cost every docs request a timeout.
    /// </summary>
    [Range(0, 3600)]
    public double IncompleteCacheSeconds { get; set; } = 5;

    /// <summary>
    /// How long to wait for one service's document (seconds). A service generates its document on the first request,
    /// which takes seconds on a cold or busy process.
    /// </summary>
    [Range(0.1, 60)]
    public double FetchTimeoutSeconds { get; set; } = 10;
}
