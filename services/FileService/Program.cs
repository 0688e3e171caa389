using Agents.Micro.FileService;
using Agents.Micro.ServiceDefaults;
using Agents.Micro.ServiceDefaults.Errors;
using Agents.Micro.ServiceDefaults.Security;

var builder = ServiceDefaultsExtensions.CreateServiceBuilder(args, defaultPort: 8083);
builder.AddServiceDefaults("file-service");
builder.AddInternalIdentityAuth();
builder.AddFileService();
builder.Services.AddOpenApi(o => o.DescribeFileService());

var app = builder.Build();
app.UseApiErrors();
app.UseAuthentication();
app.UseAuthorization();
app.MapDefaultEndpoints();
app.MapFileService();
app.MapOpenApi();
app.Run();

/// <summary>The entry point, public so that tests can host the service with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
