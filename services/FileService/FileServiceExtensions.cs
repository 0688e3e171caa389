using Agents.Micro.FileService.Endpoints;
using Agents.Micro.Storage.Files;
using MassTransit;

namespace Agents.Micro.FileService;

public static class FileServiceExtensions
{
    /// <summary>Per-user workspaces (section <c>FileStorage</c>). The host adds authentication.</summary>
    public static IHostApplicationBuilder AddFileService(this IHostApplicationBuilder builder)
    {
        builder.AddFileStore();
        return builder;
    }

    /// <summary>FileService neither sends nor consumes messages; here so every service composes the same way.</summary>
    public static IBusRegistrationConfigurator AddFileServiceMessaging(this IBusRegistrationConfigurator bus) => bus;

    public static IEndpointRouteBuilder MapFileService(this IEndpointRouteBuilder app)
    {
        app.MapFileEndpoints();
        return app;
    }
}
