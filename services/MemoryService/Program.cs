using Agents.Micro.MemoryService;
using Agents.Micro.Messaging;
using Agents.Micro.ServiceDefaults;

var builder = ServiceDefaultsExtensions.CreateServiceBuilder(args, defaultPort: 8084);
builder.AddServiceDefaults("memory-service");
builder.AddInternalIdentityAuth();
builder.AddMemoryService();
builder.Services.AddOpenApi(o => o.DescribeMemoryService());
builder.AddAgentsMessaging(bus => bus.AddMemoryServiceMessaging());

var app = builder.Build();
app.UseApiErrors();
app.UseAuthentication();
app.UseAuthorization();
app.MapDefaultEndpoints();
app.MapMemoryService();
app.MapOpenApi();
app.Run();
