using Agents.Micro.Contracts;
using MassTransit;

namespace Agents.Micro.TaskApi.Endpoints;

/// <summary>One tool the agent may call. <c>source</c> is <c>builtin</c> or <c>mcp:{server}</c>; <c>parameters</c> is the JSON schema of its arguments.</summary>
public sealed record ToolItem(string Name, string Description, string Source, bool NeedsApproval, bool? ReadOnly, System.Text.Json.JsonElement Parameters);

/// <summary>An MCP server the workers are configured with but cannot reach now (its tools are missing from the list).</summary>
public sealed record UnavailableServerItem(string Server, string Reason);

public sealed record ListToolsResponse(bool Success, IReadOnlyList<ToolItem> Items, IReadOnlyList<UnavailableServerItem> Unavailable);

/// <summary>The tools the agent can use, as the workers see them (built-in and MCP), asked of any one worker.</summary>
public static class ToolEndpoints
{
    public static IEndpointRouteBuilder MapToolEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/tools", ListTools).RequireAuthorization().WithTags("v1 tools").WithName("ListTools")
            .WithSummary("the tools the agent can use now: name, description, source (builtin or mcp:{server}), whether a call needs approval")
            .ProducesErrors(401, 503);
        return app;
    }

    public static async Task<Results<Ok<ListToolsResponse>, JsonHttpResult<ErrorBody>>> ListTools(IRequestClient<ListAgentTools> client, CancellationToken ct)
    {
        try
        {
            var r = await client.GetResponse<AgentToolsListed>(new ListAgentTools(), ct, RequestTimeout.After(s: 5));
            return TypedResults.Ok(new ListToolsResponse(true,
                r.Message.Items.Select(t => new ToolItem(t.Name, t.Description, t.Source, t.NeedsApproval, t.ReadOnly, System.Text.Json.JsonDocument.Parse(t.ParametersJson).RootElement.Clone())).ToList(),
                r.Message.Unavailable.Select(u => new UnavailableServerItem(u.Server, u.Reason)).ToList()));
        }
        catch (RequestTimeoutException)
        {
            return ApiError.Unavailable("no agent worker answered within 5 s; try again when a worker is running");
        }
    }
}
