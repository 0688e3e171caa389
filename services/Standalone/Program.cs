using Agents.Micro.AgentWorker;
using Agents.Micro.FileService;
using Agents.Micro.Gateway;
using Agents.Micro.MemoryService;
using Agents.Micro.ServiceDefaults;
using Agents.Micro.ServiceDefaults.Messaging;
using Agents.Micro.Standalone;
using Agents.Micro.TaskApi;

// The embedded default: all five services in one process, on SQLite, the in-memory bus and a local folder.
var builder = WebApplication.CreateBuilder(args);
builder.WebHost.HideServerHeader();
builder.AddEmbeddedDefaults();
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
app.UseGatewayEdge();
app.MapDefaultEndpoints(publicEdge: true);
app.MapWebConsole();
app.MapOpenApi();
app.MapGatewayDocs();
var api = app.MapGroup("").RequireGatewayRateLimit();
api.MapTaskApi();
api.MapFileService();
api.MapMemoryService();
app.Run();
