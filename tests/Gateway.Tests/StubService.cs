using System.Net;
using System.Net.Sockets;
using Agents.Micro.ServiceDefaults.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Agents.Micro.Gateway.Tests;

/// <summary>What a stub destination saw of a request, as it answers it.</summary>
public sealed record Echo(
    string Service, string Method, string Path, string Query, string? Identity, string? VerifiedUser, bool VerifiedAdmin,
    string? IdentityError, string? XUserId, string? XForwardedUser, string? Authorization, long BodyBytes);

/// <summary>
/// A stand-in for a downstream service on a random port: it echoes what it received and checks the identity
/// header with <see cref="InternalIdentity"/>, as the real services do.
/// </summary>
public sealed class StubService : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _hits;

    private StubService(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    /// <summary>Requests that reached the stub (health probes excluded).</summary>
    public int Hits => Volatile.Read(ref _hits);

    /// <summary>The streaming endpoint writes its second line once this is completed.</summary>
    public TaskCompletionSource ReleaseStream { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<StubService> StartAsync(string name, string internalKey)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        var app = builder.Build();
        var identity = new InternalIdentity(internalKey);
        StubService? stub = null;

        app.MapGet("/health/ready", () => Results.Ok(new { status = "Healthy" }));
        app.Map("/{**path}", async (HttpContext ctx) =>
        {
            Interlocked.Increment(ref stub!._hits);
            if (ctx.Request.Path.Value!.EndsWith("/stream-test", StringComparison.Ordinal))
            {
                ctx.Response.ContentType = "text/plain";
                await ctx.Response.WriteAsync("first\n");
                await ctx.Response.Body.FlushAsync();
                await stub.ReleaseStream.Task.WaitAsync(TimeSpan.FromSeconds(20));
                await ctx.Response.WriteAsync("second\n");
                return;
            }
            if (ctx.Request.Path.Value!.EndsWith("/empty-405", StringComparison.Ordinal))
            {
                // A framework-style answer with no body, as a service's router gives for a wrong method.
                ctx.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                return;
            }
            long bytes = 0;
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await ctx.Request.Body.ReadAsync(buffer)) > 0) bytes += n;

            string? header(string h) => ctx.Request.Headers.TryGetValue(h, out var v) ? v.ToString() : null;
            var raw = header(InternalIdentity.HeaderName);
            var caller = identity.Verify(raw, out var reason);
            await ctx.Response.WriteAsJsonAsync(new Echo(
                name, ctx.Request.Method, ctx.Request.Path.Value ?? "", ctx.Request.QueryString.Value ?? "", raw,
                caller?.UserId, caller?.IsAdmin ?? false, caller is null ? reason : null,
                header("X-User-Id"), header("X-Forwarded-User"), header("Authorization"), bytes));
        });

        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        stub = new StubService(app, url);
        return stub;
    }

    /// <summary>An address where nothing listens: a downed service.</summary>
    public static string DeadAddress()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }

    public async ValueTask DisposeAsync()
    {
        ReleaseStream.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
