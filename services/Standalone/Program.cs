using Agents.Micro.AgentWorker;
using Agents.Micro.FileService;
using Agents.Micro.Gateway;
using Agents.Micro.Gateway.Tokens;
using Agents.Micro.MemoryService;
using Agents.Micro.ServiceDefaults;
using Agents.Micro.Messaging;
using Agents.Micro.Standalone;
using Agents.Micro.TaskApi;

// The embedded default: all five services in one process, on SQLite, the in-memory bus and a local folder.
// A `tokens …` command is not the server's arguments (its switches are not settings).
var builder = WebApplication.CreateBuilder(TokenCli.IsInvocation(args) ? [] : args);
builder.WebHost.HideServerHeader();
builder.AddEmbeddedDefaults();
// `tokens create|list|revoke` on the embedded host's own store (its data folder), e.g. a second user's token.
if (TokenCli.IsInvocation(args))
    return await TokenCli.RunAsync(args, builder.Configuration, Console.Out, Console.Error, createStore: true);
builder.AddServiceDefaults("agents-standalone");
builder.AddGatewayEdge();
builder.AddTaskApi();
builder.AddAgentWorker();
builder.AddFileService();
builder.AddMemoryService();
builder.AddAgentsMessaging(bus =>
{
    bus.AddTaskApiMessaging();
    bus.AddAgentWorkerMessaging();
    bus.AddFileServiceMessaging();
    bus.AddMemoryServiceMessaging();
});
builder.Services.AddHostedService<DevTokenBootstrap>();
builder.Services.AddOpenApi(o => o.DescribeAgentsApi());
builder.AddGatewayDocs();

var app = builder.Build();
app.UseWebSockets(); // TaskApi's GET /api/v1/tasks/{id}/ws
app.UseGatewayEdge();
app.MapDefaultEndpoints(publicEdge: true);
app.MapWebConsole();
app.MapOpenApi();
app.MapGatewayDocs();
var api = app.MapGroup("").RequireGatewayRateLimit();
api.MapTaskApi();
api.MapFileService();
api.MapMemoryService();
await app.RunAsync();
return 0;
