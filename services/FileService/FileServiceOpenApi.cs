using Agents.Micro.ServiceDefaults.Errors;
using Agents.Micro.ServiceDefaults.OpenApi;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Agents.Micro.FileService;

/// <summary>
/// The file service's OpenAPI document (<c>/openapi/v1.json</c>), which the gateway merges into its own. The handlers
/// read the query and the multipart form themselves, so those are described here rather than inferred.
/// </summary>
public static class FileServiceOpenApi
{
    /// <summary>Use as <c>builder.Services.AddOpenApi(o =&gt; o.DescribeFileService())</c>; the host then calls <c>app.MapOpenApi()</c>.</summary>
    public static OpenApiOptions DescribeFileService(this OpenApiOptions o) =>
        o.DescribeService("Agents.Micro file service", "Per-user file workspaces: upload, list, download (a directory as a zip), delete.");

    /// <summary>The upload form: <c>file</c> (required), <c>filename</c> and <c>dir</c>.</summary>
    public static RouteHandlerBuilder WithUploadForm(this RouteHandlerBuilder b) =>
        b.AddOpenApiOperationTransformer((op, _, _) =>
        {
            op.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["multipart/form-data"] = new()
                    {
                        Schema = new OpenApiSchema
                        {
                            Type = JsonSchemaType.Object,
                            Required = new HashSet<string> { "file" },
                            Properties = new Dictionary<string, IOpenApiSchema>
                            {
                                ["file"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "the file's bytes" },
                                ["filename"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "name to store it under (default: the part's own file name)" },
                                ["dir"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "directory in the workspace (default: the root)" },
                            },
                        },
                    },
                },
            };
            return Task.CompletedTask;
        });

    /// <summary>A download answers with the file's bytes or a zip of a directory.</summary>
    public static RouteHandlerBuilder WithDownloadResponse(this RouteHandlerBuilder b) =>
        b.AddOpenApiOperationTransformer((op, _, _) =>
        {
            op.Responses ??= [];
            op.Responses["200"] = new OpenApiResponse
            {
                Description = "the file (Content-Disposition: attachment), or a directory as {name}.zip",
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/octet-stream"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } },
                    ["application/zip"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } },
                },
            };
            return Task.CompletedTask;
        });

}
