using System.Text.Json.Serialization;

namespace Agents.Micro.ServiceDefaults.Errors;

/// <summary>The one error shape of every API: <c>{"success": false, "error": "…"}</c>.</summary>
public sealed record ErrorBody([property: JsonPropertyName("success")] bool Success, [property: JsonPropertyName("error")] string Error)
{
    public ErrorBody(string error) : this(false, error)
    {
    }
}
