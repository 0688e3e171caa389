using System.Globalization;
using Agents.Micro.ServiceDefaults.Errors;
using Agents.Micro.ServiceDefaults.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Agents.Micro.ServiceDefaults.OpenApi;

/// <summary>
/// What every service's OpenAPI document shares (the gateway merges them into one): the error body's name, the
/// numbers' type, and the helpers an endpoint uses to declare what the generator cannot see.
/// </summary>
public static class ServiceOpenApi
{
    /// <summary>A service's document: its title and description, <c>ErrorResponse</c> for the error body (as the v1 spec names it).</summary>
    public static OpenApiOptions DescribeService(this OpenApiOptions o, string title, string description)
    {
        o.CreateSchemaReferenceId = t => t.Type == typeof(ErrorBody) ? "ErrorResponse" : OpenApiOptions.CreateDefaultSchemaReferenceId(t);
        o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = title;
            doc.Info.Description = description;
            return Task.CompletedTask;
        });
        // The web JSON defaults also *read* numbers from strings, which the generator documents as "number or string".
        // Bodies are read by StrictJson, which refuses that, and numbers are always written as numbers: document them so.
        o.AddSchemaTransformer((schema, context, _) =>
        {
            if (schema.Type is { } t && (t & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0 && (t & JsonSchemaType.String) != 0)
            {
                schema.Type = t & ~JsonSchemaType.String;
                schema.Pattern = null;
            }
            // Request records declare their [Required] members nullable (so a JSON null reads as absent and is refused
            // as "is required"); the document must not offer null for them.
            if (schema.Properties is { } properties)
                foreach (var p in context.JsonTypeInfo.Properties)
                    if (p.AttributeProvider?.IsDefined(typeof(System.ComponentModel.DataAnnotations.RequiredAttribute), true) == true
                        && properties.TryGetValue(p.Name, out var m) && m is OpenApiSchema member && member.Type is { } mt && (mt & JsonSchemaType.Null) != 0)
                        member.Type = mt & ~JsonSchemaType.Null;
            return Task.CompletedTask;
        });
        return o;
    }

    /// <summary>Declares the error statuses an endpoint answers, all with the one error body.</summary>
    public static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder b, params int[] statuses)
    {
        foreach (var s in statuses) b.Produces<ErrorBody>(s, "application/json");
        return b;
    }

    /// <summary>A text query parameter the handler reads itself (so the generator cannot see it).</summary>
    public static RouteHandlerBuilder WithQueryParameter(this RouteHandlerBuilder b, string name, string description, bool required = false) =>
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

    /// <summary>An integer query parameter, with the bounds and default its handler reads it with.</summary>
    public static RouteHandlerBuilder WithQueryParameter(this RouteHandlerBuilder b, IntegerQuery q) =>
        b.AddOpenApiOperationTransformer((op, _, _) =>
        {
            op.Parameters ??= [];
            op.Parameters.Add(new OpenApiParameter
            {
                Name = q.Name, In = ParameterLocation.Query, Description = q.Description,
                Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.Integer,
                    Minimum = q.Minimum.ToString(CultureInfo.InvariantCulture),
                    Maximum = q.Maximum >= int.MaxValue ? null : q.Maximum.ToString(CultureInfo.InvariantCulture),
                    Default = System.Text.Json.Nodes.JsonValue.Create(q.Default),
                },
            });
            return Task.CompletedTask;
        });
}
