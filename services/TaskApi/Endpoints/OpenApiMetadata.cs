using Agents.Micro.ServiceDefaults.Errors;

namespace Agents.Micro.TaskApi.Endpoints;

internal static class OpenApiMetadata
{
    /// <summary>Declares the error statuses an endpoint answers, all with the one error body.</summary>
    public static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder b, params int[] statuses)
    {
        foreach (var s in statuses) b.Produces<ErrorBody>(s, "application/json");
        return b;
    }
}
