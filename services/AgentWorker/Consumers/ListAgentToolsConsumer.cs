using Agents.Micro.AgentWorker.Runtime;
using Agents.Micro.AgentWorker.Tools.Mcp;
using Agents.Micro.AgentWorker.Tools;

namespace Agents.Micro.AgentWorker.Consumers;

/// <summary>Answers <c>GET /api/v1/tools</c> (through TaskApi): the tools this worker offers its agent now.</summary>
public sealed class ListAgentToolsConsumer(ToolRegistry tools, McpToolCatalog mcp, WorkerIdentity worker) : IConsumer<ListAgentTools>
{
    public Task Consume(ConsumeContext<ListAgentTools> context) =>
        context.RespondAsync(new AgentToolsListed(tools.Describe(), mcp.Unavailable.Select(u => new UnavailableToolServer(u.Server, u.Reason)).ToList(), worker.Id));
}

/// <summary>One competing queue: whichever worker is free answers (they share one configuration).</summary>
public sealed class ListAgentToolsConsumerDefinition : ConsumerDefinition<ListAgentToolsConsumer>
{
    public ListAgentToolsConsumerDefinition() => EndpointName = QueueNames.AgentTools;
}
