using Agents.Micro.ServiceDefaults.Errors;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Agents.Micro.TaskApi;

/// <summary>The OpenAPI document (<c>/openapi/v1.json</c>) of both APIs TaskApi serves.</summary>
public static class TaskApiOpenApi
{
    public const string BearerScheme = "bearerAuth";

    /// <summary>Use as <c>builder.Services.AddOpenApi(o =&gt; o.DescribeAgentsApi())</c>; the host then calls <c>app.MapOpenApi()</c>.</summary>
    public static OpenApiOptions DescribeAgentsApi(this OpenApiOptions o)
    {
        // The v1 spec calls the error body ErrorResponse.
        o.CreateSchemaReferenceId = t => t.Type == typeof(ErrorBody) ? "ErrorResponse" : OpenApiOptions.CreateDefaultSchemaReferenceId(t);
        o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Agents.Micro API";
            doc.Info.Description = "The v1 API (/api/v1/...) and the agent-service API (/agent/..., /system/info) over one data model: "
                + "a v1 conversation is an agent-API session and a task is the same in both. Every error is {\"success\": false, \"error\": \"...\"}.";
            doc.Components ??= new OpenApiComponents();
            doc.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            doc.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "token" };
            doc.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, doc)] = [] }];
            return Task.CompletedTask;
        });
        // The web JSON defaults also *read* numbers from strings, which the generator documents as "number or string".
        // Bodies are read by StrictJson, which refuses that, and numbers are always written as numbers: document them so.
        o.AddSchemaTransformer((schema, _, _) =>
        {
            if (schema.Type is { } t && (t & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0 && (t & JsonSchemaType.String) != 0)
            {
                schema.Type = t & ~JsonSchemaType.String;
                schema.Pattern = null;
            }
            return Task.CompletedTask;
        });
        return o;
    }
}
