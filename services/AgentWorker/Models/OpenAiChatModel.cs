using System.Runtime.CompilerServices;
using Agents.Micro.ServiceDefaults.Agents;

namespace Agents.Micro.AgentWorker.Models;

/// <summary>Any OpenAI-compatible chat-completions endpoint (being written: see issue 3).</summary>
public sealed class OpenAiChatModel(ModelDefinition definition, ILogger<OpenAiChatModel> log) : IChatModel
{
    public string Name => definition.Model;

    public async IAsyncEnumerable<ModelUpdate> StreamAsync(ModelRequest request, [EnumeratorCancellation] CancellationToken ct)
    {
        log.LogError("OpenAI-compatible provider not available in this build");
        await Task.Yield();
        throw new NotSupportedException("the OpenAI-compatible provider is not available in this build");
#pragma warning disable CS0162
        yield break;
#pragma warning restore CS0162
    }
}
