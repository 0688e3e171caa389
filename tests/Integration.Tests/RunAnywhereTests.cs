using System.Net;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>
/// A service started the way ops tooling starts it — `dotnet /opt/…/Agents.Micro.Gateway.dll` from some other
/// directory, told its port by the standard ASPNETCORE_HTTP_PORTS — reads its own settings and listens there.
/// </summary>
public sealed class RunAnywhereTests
{
    [Fact]
    public async Task Gateway_FromAnotherDirectory_WithAspNetCoreHttpPorts_LoadsItsRoutesAndListensThere()
    {
        var cwd = Directory.CreateTempSubdirectory("agents-elsewhere-").FullName;
        try
        {
            await using var gateway = await ServiceProcess.StartAsync("Gateway", "Agents.Micro.Gateway", new Dictionary<string, string>
            {
                ["Database__Provider"] = "sqlite",
                ["Database__ConnectionString"] = $"Data Source={Path.Combine(cwd, "tokens.db")}",
                ["Auth__InternalKey"] = "run-anywhere-internal-key-0123456789abcdef",
            }, workingDirectory: cwd, portVariable: "ASPNETCORE_HTTP_PORTS");

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            // The routes come from the gateway's own appsettings.json: an API path exists and asks for a token. Without
            // them (settings read from the working directory) it would be an unknown path: 404.
            using var api = await http.GetAsync(gateway.BaseUrl + "/api/v1/conversations", TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
            using var unknown = await http.GetAsync(gateway.BaseUrl + "/no/such/route", TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Empty(Directory.GetFiles(cwd, "appsettings*.json"));
        }
        finally
        {
            try { Directory.Delete(cwd, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task EmbeddedDefault_WithAspNetCoreHttpPorts_ListensThere_NotOnItsDefaultPort()
    {
        // A newcomer whose port 8091 is taken moves the embedded default with the standard variable; its own default
        // address used to win over it (and the host then failed on the busy 8091).
        var cwd = Directory.CreateTempSubdirectory("agents-embedded-port-").FullName;
        try
        {
            await using var host = await ServiceProcess.StartAsync("Standalone", "Agents.Micro.Standalone", new Dictionary<string, string>
            {
                ["AGENTS_DATA_DIR"] = Path.Combine(cwd, "data"),
            }, workingDirectory: cwd, portVariable: "ASPNETCORE_HTTP_PORTS");
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            using var live = await http.GetAsync(host.BaseUrl + "/health/live", TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.DoesNotContain("Overriding HTTP_PORTS", host.Output);
        }
        finally
        {
            try { Directory.Delete(cwd, recursive: true); } catch (IOException) { }
        }
    }
}
