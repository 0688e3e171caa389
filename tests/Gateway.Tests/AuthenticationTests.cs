using Agents.Micro.Gateway.Tokens;
using System.Net;
using System.Net.Http.Headers;
using System.Diagnostics;
using Agents.Micro.ServiceDefaults.Security;
using static Agents.Micro.Gateway.Tests.Http;

namespace Agents.Micro.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class AuthenticationTests(GatewayFixture fx)
{
    [Fact]
    public async Task Request_WithoutToken_Returns401ErrorBody_AndNeverReachesTheService()
    {
        var before = fx.TaskApi.Hits;
        var response = await fx.Client().GetAsync("/api/v1/tasks/t1", Ct);
        var error = await AssertErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("bearer", error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, fx.TaskApi.Hits);
    }

    [Theory]
    [InlineData("Bearer not-a-real-token")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer ")]
    public async Task Request_WithBadCredentials_Returns401ErrorBody(string authorization)
    {
        var client = fx.Client();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        var before = fx.TaskApi.Hits;
        var response = await client.PostJsonAsync("/api/v1/conversations", new { });
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal(before, fx.TaskApi.Hits);
    }

    [Fact]
    public async Task RevokedToken_StopsWorkingWithinTheCacheTime()
    {
        var token = await fx.NewTokenAsync("revoke-me");
        var client = fx.Client(token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/tasks/t1", Ct)).StatusCode);

        var (exit, _, err) = await fx.CliAsync("revoke", TokenStore.Hash(token)[..10]);
        Assert.True(exit == 0, err);

        // Auth:TokenCacheSeconds is 1 here: the cached "valid" answer may live that long, no longer.
        var clock = Stopwatch.StartNew();
        HttpResponseMessage response;
        do
        {
            response = await client.GetAsync("/api/v1/tasks/t1", Ct);
            if (response.StatusCode == HttpStatusCode.Unauthorized) break;
            await Task.Delay(100, Ct);
        } while (clock.Elapsed < TimeSpan.FromSeconds(5));
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"revoked token still accepted after {clock.Elapsed}");
    }

    [Fact]
    public async Task ConfiguredBootstrapHash_Authenticates()
    {
        var echo = await EchoAsync(await fx.Client(GatewayFixture.BootstrapToken).GetAsync("/api/v1/tasks/t1", Ct));
        Assert.Equal("boot", echo.VerifiedUser);
    }

    [Fact]
    public async Task AccessTokenQuery_AuthenticatesAStreamGet_AndIsNotForwarded()
    {
        var token = await fx.NewTokenAsync("query-user");
        var echo = await EchoAsync(await fx.Client().GetAsync($"/api/v1/tasks/t1/events?from=3&access_token={Uri.EscapeDataString(token)}", Ct));
        Assert.Equal("query-user", echo.VerifiedUser);
        Assert.Equal("?from=3", echo.Query);
        Assert.DoesNotContain(token, echo.Query);
    }

    [Fact]
    public async Task AccessTokenQuery_IsRefusedOutsideTheStreams()
    {
        var token = Uri.EscapeDataString(await fx.NewTokenAsync("query-user-2"));
        foreach (var path in new[] { $"/api/v1/tasks/t1?access_token={token}", $"/api/v1/files/download?path=a.txt&access_token={token}", $"/api/v1/conversations?access_token={token}" })
            Assert.Equal(HttpStatusCode.Unauthorized, (await fx.Client().GetAsync(path, Ct)).StatusCode);
    }

    [Fact]
    public async Task HealthEndpoints_AreAnonymous()
    {
        var response = await fx.Client().GetAsync("/health/live", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task MalformedAuthorizationHeader_Returns401WithChallenge()
    {
        var client = fx.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", "abc");
        var response = await client.GetAsync("/agent/sessionids/u1", Ct);
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
    }
}
