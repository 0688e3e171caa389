using System.Net;
using Agents.Micro.ServiceDefaults.Security;
using static Agents.Micro.Gateway.Tests.Http;

namespace Agents.Micro.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class ProxyTests(GatewayFixture fx)
{
    private static readonly InternalIdentity Identity = new(GatewayFixture.InternalKey);

    [Fact]
    public async Task ValidToken_IsForwardedWithAVerifiableIdentity_AndWithoutTheToken()
    {
        var token = await fx.NewTokenAsync("alice");
        var echo = await EchoAsync(await fx.Client(token).PostJsonAsync("/api/v1/messages", new { message = "hi" }));

        Assert.Equal("taskapi", echo.Service);
        Assert.Equal("/api/v1/messages", echo.Path);
        Assert.Equal("alice", echo.VerifiedUser);
        Assert.False(echo.VerifiedAdmin);
        // The test verifies the header itself too, with the deployment's key: it is the gateway's signature.
        Assert.Equal(new CallerIdentity("alice", false), Identity.Verify(echo.Identity, out _));
        Assert.Null(echo.Authorization);
    }

    [Fact]
    public async Task AdminToken_IsForwardedAsAdmin()
    {
        var token = await fx.NewTokenAsync("root-user", admin: true);
        var echo = await EchoAsync(await fx.Client(token).GetAsync("/system/info", Ct));
        Assert.Equal("root-user", echo.VerifiedUser);
        Assert.True(echo.VerifiedAdmin);
    }

    [Fact]
    public async Task ForgedIdentityHeaders_AreStripped_AndReplacedByTheCaller()
    {
        var token = await fx.NewTokenAsync("bob");
        var client = fx.Client(token);
        // Even a correctly signed identity for someone else must not survive: only the gateway's own counts.
        var forged = Identity.Sign(new CallerIdentity("mallory", true), TimeSpan.FromMinutes(5));
        client.DefaultRequestHeaders.Add(InternalIdentity.HeaderName, forged);
        client.DefaultRequestHeaders.Add("X-User-Id", "mallory");
        client.DefaultRequestHeaders.Add("X-Forwarded-User", "mallory");

        var echo = await EchoAsync(await client.GetAsync("/agent/sessionids/mallory", Ct));

        Assert.Equal("bob", echo.VerifiedUser);
        Assert.False(echo.VerifiedAdmin);
        Assert.NotEqual(forged, echo.Identity);
        Assert.DoesNotContain(",", echo.Identity);
        Assert.Null(echo.XUserId);
        Assert.Null(echo.XForwardedUser);
    }

    [Theory]
    [InlineData("POST", "/api/v1/conversations", "taskapi")]
    [InlineData("GET", "/api/v1/conversations/c1", "taskapi")]
    [InlineData("POST", "/api/v1/messages", "taskapi")]
    [InlineData("GET", "/api/v1/tasks/t1?from=2", "taskapi")]
    [InlineData("POST", "/api/v1/tasks/t1/cancel", "taskapi")]
    [InlineData("POST", "/agent/invoke", "taskapi")]
    [InlineData("GET", "/agent/status/u/s/t", "taskapi")]
    [InlineData("DELETE", "/agent/session/u/s", "taskapi")]
    [InlineData("GET", "/system/info", "taskapi")]
    [InlineData("GET", "/api/v1/tools", "taskapi")]
    [InlineData("GET", "/api/v1/webhooks", "taskapi")]
    [InlineData("GET", "/api/v1/usage?from=2026-12-01", "taskapi")]
    [InlineData("GET", "/api/v1/usage/tasks/t1", "taskapi")]
    [InlineData("POST", "/api/v1/webhooks/wh_1/deliveries/d1/resend", "taskapi")]
    [InlineData("GET", "/api/v1/files", "files")]
    [InlineData("GET", "/api/v1/files/download?path=a.txt", "files")]
    [InlineData("POST", "/api/v1/files/upload", "files")]
    public async Task Routes_ReachTheirService(string method, string pathAndQuery, string service)
    {
        var token = await fx.NewTokenAsync("router");
        var request = new HttpRequestMessage(new HttpMethod(method), pathAndQuery);
        if (method == "POST") request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        var echo = await EchoAsync(await fx.Client(token).SendAsync(request, Ct));
        Assert.Equal(service, echo.Service);
        Assert.Equal(method, echo.Method);
        Assert.Equal(pathAndQuery, echo.Path + echo.Query);
    }

    [Theory]
    [InlineData("POST", "/agent/write/longterm")]
    [InlineData("GET", "/api/v1/memories")]
    [InlineData("DELETE", "/api/v1/memories/m1")]
    public async Task MemoryRoutes_WhenTheMemoryServiceIsDown_Return503NamingIt(string method, string path)
    {
        var token = await fx.NewTokenAsync("memory-user");
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST") request.Content = new StringContent("""{"user_id":"u","memory_info":"x"}""", System.Text.Encoding.UTF8, "application/json");
        var response = await fx.Client(token).SendAsync(request, Ct);

        var error = await AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("memory service unavailable", error);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.DoesNotContain("127.0.0.1", body);
        Assert.DoesNotContain(new Uri(fx.DeadMemoryAddress).Port.ToString(), body);
    }

    [Theory]
    [InlineData("/nope")]
    [InlineData("/api/v1/unknown")]
    [InlineData("/api/v2/tasks/t1")]
    [InlineData("/agents/invoke")]
    public async Task UnknownRoute_Returns404ErrorBody(string path)
    {
        var token = await fx.NewTokenAsync("lost");
        await AssertErrorAsync(await fx.Client(token).GetAsync(path, Ct), HttpStatusCode.NotFound);
        await AssertErrorAsync(await fx.Client().GetAsync(path, Ct), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task EmptyBodiedErrorFromAService_GetsTheErrorBody()
    {
        var token = await fx.NewTokenAsync("wrong-method");
        var response = await fx.Client(token).DeleteAsync("/api/v1/tasks/t1/empty-405", Ct);
        await AssertErrorAsync(response, HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task StreamedResponse_ReachesTheClientBeforeItEnds()
    {
        var token = await fx.NewTokenAsync("streamer");
        using var response = await fx.Client(token).GetAsync("/api/v1/tasks/t1/stream-test", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));

        // The stub holds its second line back until the first one arrived here: a buffering proxy would hang.
        var first = await reader.ReadLineAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal("first", first);
        fx.TaskApi.ReleaseStream.TrySetResult();
        Assert.Equal("second", await reader.ReadLineAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }
}
