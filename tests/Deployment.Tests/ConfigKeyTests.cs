namespace Agents.Micro.Deployment.Tests;

/// <summary>
/// Every environment variable compose sets for a service must be a setting that service reads: ASP.NET Core silently
/// ignores unknown keys, so a misspelt `Database__ConectionString` would only show up as a service on the wrong database.
/// </summary>
public sealed class ConfigKeyTests
{
    public static TheoryData<string> ServiceFolders => new(ServiceCatalog.AllFolders());

    [Theory, MemberData(nameof(ServiceFolders))]
    public void ComposeEnvironment_SetsOnlyKeysTheServiceReads(string folder)
    {
        var service = ServiceCatalog.ByFolder(folder);
        ServiceCatalog.AssertProjectExists(service);
        var schema = ConfigSchema.ForService(folder);
        var environment = ComposeCli.Model.Service(service.ComposeName).Environment;

        var problems = new List<string>();
        foreach (var name in environment.Keys.Where(k => !ServiceCatalog.StandardVariables.Contains(k)))
        {
            var key = name.Replace("__", ":", StringComparison.Ordinal);
            var section = key.Split(':')[0];
            if (!service.Sections.Contains(section, StringComparer.OrdinalIgnoreCase))
                problems.Add($"{name}: {service.ComposeName} does not read the section \"{section}\" (it reads: {string.Join(", ", service.Sections)})");
            else if (schema.Explain(key) is { } why)
                problems.Add($"{name}: {why}");
        }

        Assert.True(problems.Count == 0, $"docker-compose.yml gives {service.ComposeName} settings it does not read:\n{string.Join("\n", problems)}");
    }

    /// <summary>
    /// The MCP example the README points to (docker-compose.mcp.yml) is a valid override, and the worker reads every key
    /// it sets; the only other variables are the secrets its <c>…From</c> settings name.
    /// </summary>
    [Fact]
    public void McpOverride_IsValid_AndGivesTheWorkerOnlyMcpSettingsItReads()
    {
        var result = ComposeCli.Config(ComposeCli.RequiredVariables, "docker-compose.mcp.yml");
        Assert.True(result.ExitCode == 0, $"docker-compose config with docker-compose.mcp.yml failed:\n{result.StdErr}");
        var model = ComposeModel.Parse(result.StdOut);
        var worker = model.Service("agent-worker").Environment;
        var schema = ConfigSchema.ForService("AgentWorker");
        var mcp = worker.Keys.Where(k => k.StartsWith("Mcp__", StringComparison.Ordinal)).ToList();
        Assert.Contains("Mcp__Servers__fs__Command", mcp);
        Assert.Contains("Mcp__Servers__everything__Url", mcp);
        Assert.All(mcp, k => Assert.Null(schema.Explain(k.Replace("__", ":", StringComparison.Ordinal))));
        var named = mcp.Where(k => k.Split("__")[^2].EndsWith("From", StringComparison.Ordinal)).Select(k => worker[k]).ToList();
        Assert.Equal(["MCP_EVERYTHING_AUTH"], named);
        Assert.True(worker.ContainsKey("MCP_EVERYTHING_AUTH"));
        Assert.Equal("http://mcp-everything:3001/mcp", worker["Mcp__Servers__everything__Url"]);
        Assert.NotNull(model.Service("mcp-everything"));
    }

    [Fact]
    public void Explain_RejectsAMisspeltKey_AndAcceptsTheRealOne()
    {
        // Guards the scanner itself: were it to accept everything, the test above could never fail.
        var schema = ConfigSchema.ForService("TaskApi");

        Assert.Null(schema.Explain("Database:ConnectionString"));
        Assert.Null(schema.Explain("Messaging:RabbitMq:Host"));
        Assert.Null(schema.Explain("Auth:Tokens:0:Sha256"));
        Assert.NotNull(schema.Explain("Database:ConectionString"));
        Assert.NotNull(schema.Explain("Messaging:RabbitMq:Hots"));
        Assert.NotNull(schema.Explain("Auth:Tokens:first:Sha256"));
        Assert.NotNull(schema.Explain("Messaging:RabbitMq"));
        Assert.NotNull(schema.Explain("Databse:Provider"));
    }
}
