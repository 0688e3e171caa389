namespace Agents.Micro.TaskApi.Streaming;

/// <summary>
/// Accepts WebSocket upgrades in front of the host's own pipeline, so whichever host composes TaskApi (its own
/// Program, the embedded one-process host, a test host) serves <c>/api/v1/tasks/{id}/ws</c> without extra wiring.
/// </summary>
internal sealed class WebSocketStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseWebSockets();
        next(app);
    };
}
