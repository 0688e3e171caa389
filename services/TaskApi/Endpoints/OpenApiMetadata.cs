using Agents.Micro.ServiceDefaults.Errors;
using Microsoft.OpenApi;

namespace Agents.Micro.TaskApi.Endpoints;

internal static class OpenApiMetadata
{
    /// <summary>Declares the error statuses an endpoint answers, all with the one error body.</summary>
    public static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder b, params int[] statuses)
    {
        foreach (var s in statuses) b.Produces<ErrorBody>(s, "application/json");
        return b;
    }

    /// <summary>An integer query parameter the handler reads itself (so the generator cannot see it).</summary>
    public static RouteHandlerBuilder WithIntegerQuery(this RouteHandlerBuilder b, string name, string description) =>
        b.AddOpenApiOperationTransformer((op, _, _) =>
        {
            op.Parameters ??= [];
            op.Parameters.Add(new OpenApiParameter
            {
                Name = name, In = ParameterLocation.Query, Required = false, Description = description,
                Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "0" },
            });
            return Task.CompletedTask;
        });
}
