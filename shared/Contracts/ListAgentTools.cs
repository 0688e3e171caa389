namespace Agents.Micro.Contracts;

/// <summary>Request to any AgentWorker: the tools its agent is offered now (built-in ones and those of its MCP servers).</summary>
public sealed record ListAgentTools;

/// <summary>Response to <see cref="ListAgentTools"/>, from the worker that answered.</summary>
public sealed record AgentToolsListed(IReadOnlyList<AgentTool> Items, IReadOnlyList<UnavailableToolServer> Unavailable, string Worker);

/// <summary>
/// One tool: <paramref name="Source"/> is <c>builtin</c> or <c>mcp:{server}</c>; <paramref name="ReadOnly"/> is what an MCP
/// server says of it; <paramref name="ParametersJson"/> is the JSON schema of its arguments as the model sees it.
/// </summary>
public sealed record AgentTool(string Name, string Description, string Source, bool NeedsApproval, bool? ReadOnly, string ParametersJson);

/// <summary>An MCP server the worker is configured with but cannot reach now.</summary>
public sealed record UnavailableToolServer(string Server, string Reason);
