using Agents.Micro.Storage.Files;
using OpenAI.Chat;
using SdkMessage = OpenAI.Chat.ChatMessage;

namespace Agents.Micro.AgentWorker.Models;

/// <summary>Our provider-neutral request in the OpenAI SDK's shapes.</summary>
internal static class OpenAiMessages
{
    private static readonly BinaryData EmptyObjectSchema = BinaryData.FromString("""{"type":"object","properties":{}}""");

    public static async Task<List<SdkMessage>> ToSdkAsync(ModelDefinition definition, ModelRequest request, CancellationToken ct)
    {
        var list = new List<SdkMessage>(request.Messages.Count);
        foreach (var m in request.Messages)
        {
            list.Add(m.Role switch
            {
                ChatMessage.System => new SystemChatMessage(m.Content ?? ""),
                ChatMessage.User => await UserAsync(definition, m, request.LoadImage, ct),
                ChatMessage.Assistant => Assistant(definition, m),
                ChatMessage.Tool => new ToolChatMessage(
                    m.ToolCallId ?? throw new ModelCallException($"model '{definition.Model}': a tool result without the id of its call cannot be sent"),
                    m.Content ?? ""),
                _ => throw new ModelCallException($"model '{definition.Model}': unknown message role '{m.Role}'"),
            });
        }
        return list;
    }

    public static ChatCompletionOptions Options(ModelDefinition definition, ModelRequest request)
    {
        var options = new ChatCompletionOptions();
        // Reasoning effort is only understood by reasoning models; others may reject the field, so it is opt-in per
        // model (Thinking=true). Reasoning models in turn reject a temperature (OpenAI's o-series and gpt-5 answer 400),
        // so a request carries one or the other: the run mode's "temperature or reasoning effort".
        if (definition.Thinking && request.Thinking && !string.IsNullOrWhiteSpace(request.ReasoningEffort))
        {
#pragma warning disable OPENAI001 // reasoning effort is marked for evaluation in SDK 2.15; the wire field is stable
            options.ReasoningEffortLevel = new ChatReasoningEffortLevel(request.ReasoningEffort);
#pragma warning restore OPENAI001
        }
        else
        {
            options.Temperature = request.Temperature;
        }
        foreach (var tool in request.Tools)
        {
            var schema = tool.Parameters.ValueKind == JsonValueKind.Object ? BinaryData.FromString(tool.Parameters.GetRawText()) : EmptyObjectSchema;
            options.Tools.Add(ChatTool.CreateFunctionTool(tool.Name, tool.Description, schema));
        }
        return options;
    }

    private static async Task<SdkMessage> UserAsync(ModelDefinition definition, ChatMessage m,
        Func<string, CancellationToken, Task<BinaryData?>>? loadImage, CancellationToken ct)
    {
        if (m.Images is not { Count: > 0 } images) return new UserChatMessage(m.Content ?? "");
        if (!definition.Vision)
            throw new ModelCallException($"model '{definition.Model}' does not accept images (it is not configured with Vision=true); send the message without images or pick a vision model");
        if (loadImage is null)
            throw new ModelCallException($"model '{definition.Model}': the message has images but this worker cannot read workspace files");

        var parts = new List<ChatMessageContentPart>();
        if (!string.IsNullOrEmpty(m.Content)) parts.Add(ChatMessageContentPart.CreateTextPart(m.Content));
        foreach (var path in images)
        {
            var mediaType = WorkspaceContentTypes.ModelImageType(path)
                ?? throw new ModelCallException($"image '{path}': unsupported type (use .png, .jpg, .jpeg, .gif or .webp)");
            var bytes = await loadImage(path, ct)
                ?? throw new ModelCallException($"image '{path}' was not found in the workspace");
            parts.Add(ChatMessageContentPart.CreateImagePart(bytes, mediaType));
        }
        return new UserChatMessage(parts);
    }

    private static AssistantChatMessage Assistant(ModelDefinition definition, ChatMessage m)
    {
        if (m.ToolCalls is not { Count: > 0 } calls) return new AssistantChatMessage(m.Content ?? "");
        var message = new AssistantChatMessage(calls.Select(c =>
            ChatToolCall.CreateFunctionToolCall(c.Id, c.Name, BinaryData.FromString(string.IsNullOrWhiteSpace(c.Arguments) ? "{}" : c.Arguments))));
        if (!string.IsNullOrEmpty(m.Content)) message.Content.Add(ChatMessageContentPart.CreateTextPart(m.Content));
        // DeepSeek's thinking mode (and Kimi's) require the reasoning of every tool-calling assistant turn to come back
        // in later requests, or they answer 400. Only tool-calling turns carry it: DeepSeek's older reasoner rejects
        // reasoning_content on plain answers, and a model that streamed no reasoning has nothing to send back.
        if (definition.Thinking && definition.EchoReasoning && !string.IsNullOrEmpty(m.Reasoning))
        {
#pragma warning disable SCME0001 // JsonPatch is marked experimental in SDK 2.15; it is how extra wire fields are sent
            message.Patch.Set("$.reasoning_content"u8, m.Reasoning);
#pragma warning restore SCME0001
        }
        return message;
    }
}
