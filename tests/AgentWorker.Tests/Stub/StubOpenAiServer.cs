using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Agents.Micro.AgentWorker.Tests.Stub;

/// <summary>What the stub received: the JSON body and the Authorization header.</summary>
public sealed record RecordedRequest(JsonElement Body, string? Authorization, string Path);

/// <summary>How the stub answers one request.</summary>
public delegate Task Reply(HttpContext http, JsonElement request);

/// <summary>
/// An OpenAI-compatible server on 127.0.0.1 with a random port: <c>POST /v1/chat/completions</c> answers with the
/// next scripted <see cref="Reply"/> and records every request, so tests can check what the client sent.
/// </summary>
public sealed class StubOpenAiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Reply> _script = new();
    private readonly List<RecordedRequest> _requests = [];

    private StubOpenAiServer(WebApplication app) => _app = app;

    /// <summary>The base URL to configure as the model's endpoint (…/v1).</summary>
    public string Endpoint { get; private set; } = "";

    public IReadOnlyList<RecordedRequest> Requests
    {
        get { lock (_requests) return _requests.ToList(); }
    }

    public static async Task<StubOpenAiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var stub = new StubOpenAiServer(app);
        app.MapPost("/v1/chat/completions", stub.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        stub.Endpoint = address.TrimEnd('/') + "/v1";
        return stub;
    }

    public StubOpenAiServer Then(Reply reply)
    {
        _script.Enqueue(reply);
        return this;
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var doc = await JsonDocument.ParseAsync(http.Request.Body);
        var body = doc.RootElement.Clone();
        lock (_requests) _requests.Add(new RecordedRequest(body, http.Request.Headers.Authorization.ToString(), http.Request.Path));
        if (!_script.TryDequeue(out var reply))
        {
            await Replies.Error(500, "the stub has no scripted reply left")(http, body);
            return;
        }
        await reply(http, body);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
