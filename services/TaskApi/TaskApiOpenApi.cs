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
        o.DescribeService("Agents.Micro API",
            "The v1 API (/api/v1/...) and the agent-service API (/agent/..., /system/info) over one data model: "
            + "a v1 conversation is an agent-API session and a task is the same in both. Every error is {\"success\": false, \"error\": \"...\"}.");
        o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Components ??= new OpenApiComponents();
            doc.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            doc.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "token" };
            doc.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, doc)] = [] }];
            return Task.CompletedTask;
        });
        return o;
    }
}
