using Agents.Micro.AgentWorker;
using Agents.Micro.ServiceDefaults;
using Agents.Micro.ServiceDefaults.Errors;
using Agents.Micro.Messaging;

var builder = ServiceDefaultsExtensions.CreateServiceBuilder(args, defaultPort: 8082);
builder.AddServiceDefaults("agent-worker");
builder.AddAgentWorker();
builder.AddAgentsMessaging(bus => bus.AddAgentWorkerMessaging());

var app = builder.Build();
app.UseApiErrors();
app.MapDefaultEndpoints();
app.Run();
