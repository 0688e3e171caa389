using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Configuration;

namespace Agents.Micro.Bench;

/// <summary>
/// The gateway's baselines, each its own process like the real services: a bare Kestrel endpoint answering a fixed
/// poll-sized JSON body, and a bare YARP proxy (no auth, no limits, no transforms) in front of it.
/// </summary>
public static class BareServers
{
    /// <summary>About the size of a poll response of a finished short task.</summary>
    private static readonly byte[] Body = System.Text.Encoding.UTF8.GetBytes(
        "{\"success\":true,\"data\":{\"task_id\":\"" + new string('a', 32) + "\",\"status\":\"completed\",\"created_at\":1700000000.123,\"updated_at\":1700000000.456,\"error\":null,\"events\":["
        + string.Join(",", Enumerable.Range(0, 4).Select(i => "{\"idx\":" + i + ",\"type\":\"text_chunk\",\"data\":{\"content\":\"hello there\"},\"ts\":1700000000.2}"))
        + "],\"next_offset\":4}}");

    public static async Task RunKestrelAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/health/live", () => "ok");
        app.MapGet("/api/v1/tasks/{id}", (HttpContext ctx) =>
        {
            ctx.Response.ContentType = "application/json";
            return ctx.Response.Body.WriteAsync(Body).AsTask();
        });
        await app.RunAsync();
    }

    public static async Task RunYarpAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        var dest = Environment.GetEnvironmentVariable("BENCH_YARP_DEST")!;
        builder.Services.AddReverseProxy().LoadFromMemory(
            [new RouteConfig { RouteId = "all", ClusterId = "c", Match = new RouteMatch { Path = "/api/{**rest}" } }],
            [new ClusterConfig { ClusterId = "c", Destinations = new Dictionary<string, DestinationConfig> { ["d"] = new() { Address = dest } } }]);
        var app = builder.Build();
        app.MapGet("/health/live", () => "ok");
        app.MapReverseProxy();
        await app.RunAsync();
    }

    /// <summary>Starts this bench executable with a sub-command as a separate process on a free port.</summary>
    public static async Task<(Process Process, string Url)> StartAsync(string command, Dictionary<string, string>? env = null)
    {
        var port = Agents.Micro.TestSupport.TestEnv.FreePort();
        var url = $"http://127.0.0.1:{port}";
        var dll = typeof(BareServers).Assembly.Location;
        var psi = new ProcessStartInfo("dotnet", $"\"{dll}\" {command}") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["Urls"] = url;
        psi.Environment["DOTNET_gcServer"] = "0";
        foreach (var (k, v) in env ?? []) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var i = 0; i < 150; i++)
        {
            try
            {
                if ((await http.GetAsync(url + "/health/live")).IsSuccessStatusCode) return (p, url);
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        p.Kill();
        throw new TimeoutException($"{command} did not start");
    }
}
