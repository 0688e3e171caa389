using Agents.Micro.ServiceDefaults.Errors;
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
    public static OpenApiOptions DescribeFileService(this OpenApiOptions o)
    {
        // The same name for the error body as the other services use, so the gateway's merged document has one.
        o.CreateSchemaReferenceId = t => t.Type == typeof(ErrorBody) ? "ErrorResponse" : OpenApiOptions.CreateDefaultSchemaReferenceId(t);
        o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Agents.Micro file service";
            doc.Info.Description = "Per-user file workspaces: upload, list, download (a directory as a zip), delete.";
            return Task.CompletedTask;
        });
        return o;
    }

    /// <summary>A query parameter the handler reads itself.</summary>
    public static RouteHandlerBuilder WithQueryParameter(this RouteHandlerBuilder b, string name, bool required, string description) =>
        b.AddOpenApiOperationTransformer((op, _, _) =>
        {
            op.Parameters ??= [];
            op.Parameters.Add(new OpenApiParameter
            {
                Name = name, In = ParameterLocation.Query, Required = required, Description = description,
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            });
            return Task.CompletedTask;
        });

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
