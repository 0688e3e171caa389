using System.Text.Json.Serialization;

namespace Agents.Micro.ServiceDefaults.Errors;

[JsonSerializable(typeof(ErrorBody))]
internal sealed partial class ErrorJsonContext : JsonSerializerContext;
