using Agents.Micro.Gateway;
using Agents.Micro.Gateway.Tokens;
using Agents.Micro.ServiceDefaults;

// `tokens create|list|revoke`: an operator command, not the server.
if (TokenCli.IsInvocation(args))
    return await TokenCli.RunAsync(args, TokenCli.LoadConfiguration(), Console.Out, Console.Error);

var builder = ServiceDefaultsExtensions.CreateServiceBuilder(args, defaultPort: 8091);
builder.AddServiceDefaults("gateway");
builder.AddGatewayEdge();
builder.AddGatewayProxy();
builder.AddGatewayDocs();

var app = builder.Build();
app.UseGatewayEdge();
app.MapDefaultEndpoints(publicEdge: true);
app.MapWebConsole();
app.MapGatewayDocs("/openapi/v1.json");
app.MapGatewayProxy();
await app.RunAsync();
return 0;

/// <summary>Visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
