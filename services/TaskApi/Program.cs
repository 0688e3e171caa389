using Agents.Micro.Messaging;
using Agents.Micro.ServiceDefaults;
using Agents.Micro.TaskApi;

var builder = ServiceDefaultsExtensions.CreateServiceBuilder(args, defaultPort: 8081);
builder.AddServiceDefaults("task-api");
builder.AddInternalIdentityAuth();
builder.AddTaskApi();
builder.AddAgentsMessaging(bus => bus.AddTaskApiMessaging(), brokerGatesReadiness: false);
builder.Services.AddOpenApi(o => o.DescribeAgentsApi());

var app = builder.Build();
app.UseWebSockets(); // GET /api/v1/tasks/{id}/ws
app.UseApiErrors();
app.UseAuthentication();
app.UseAuthorization();
app.MapDefaultEndpoints();
app.MapTaskApi();
app.MapOpenApi();
app.Run();
