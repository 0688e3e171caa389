using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Agents.Micro.ServiceDefaults.Errors;

[JsonSerializable(typeof(ErrorBody))]
internal sealed partial class ErrorJsonContext : JsonSerializerContext
{
    /// <summary>Readable messages: quotes and non-ASCII (Chinese) text are written as they are.</summary>
    public static readonly ErrorJsonContext Relaxed = new(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
