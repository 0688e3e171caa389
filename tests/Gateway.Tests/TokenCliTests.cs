using Agents.Micro.Gateway.Tokens;
using Agents.Micro.TestSupport;
using Microsoft.Extensions.Configuration;
using System.Net;
using Agents.Micro.ServiceDefaults.Security;
using Microsoft.Data.Sqlite;
using static Agents.Micro.Gateway.Tests.Http;

namespace Agents.Micro.Gateway.Tests;

[Collection(GatewayCollection.Name)]
public sealed class TokenCliTests(GatewayFixture fx)
{
    [Fact]
    public async Task PointedAtNoTokenStore_RefusesAndCreatesNothing_SayingHowToReachTheEmbeddedOne()
    {
        var dir = Directory.CreateTempSubdirectory("agents-cli-").FullName;
        try
        {
            var missing = Path.Combine(dir, "none.db");
            var empty = Path.Combine(dir, "empty.db");
            await using (var c = new SqliteConnection($"Data Source={empty}")) { await c.OpenAsync(Ct); } // a database without the table
            foreach (var db in new[] { missing, empty })
            {
                var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["Database:Provider"] = "sqlite",
                    ["Database:ConnectionString"] = $"Data Source={db}",
                }).Build();
                using var stdout = new StringWriter();
                using var stderr = new StringWriter();
                var exit = await Agents.Micro.Gateway.Tokens.TokenCli.RunAsync(["tokens", "create", "--user", "alice"], config, stdout, stderr, Ct);

                Assert.NotEqual(0, exit);
                Assert.Equal("", stdout.ToString());
                Assert.Contains("dotnet run --project services/Standalone -- tokens create", stderr.ToString());
            }
            Assert.False(File.Exists(missing));
            await using var check = new SqliteConnection($"Data Source={empty}");
            await check.OpenAsync(Ct);
            using var cmd = check.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'";
            Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync(Ct))!);
        }
        finally
        {
            TestEnv.DeleteSqlite(dir);
        }
    }

    [Fact]
    public async Task CreateListRevoke_ManagesATokenThatOnlyExistsAsAHash()
    {
        var (exit, stdout, stderr) = await fx.CliAsync("create", "--user", "carol", "--name", "laptop", "--admin");
        Assert.True(exit == 0, stderr);
        var token = stdout.Trim();
        Assert.StartsWith("am_", token);
        var hash = TokenStore.Hash(token);

        // It works at once, as carol, an admin.
        var echo = await EchoAsync(await fx.Client(token).GetAsync("/system/info", Ct));
        Assert.Equal("carol", echo.VerifiedUser);
        Assert.True(echo.VerifiedAdmin);

        // The table holds its hash and nothing from which the token could be read back.
        var rows = await ReadTableAsync();
        Assert.DoesNotContain(rows, r => r.Values.Any(v => v?.Contains(token, StringComparison.Ordinal) == true));
        Assert.DoesNotContain(rows, r => r.Values.Any(v => v?.Contains(token[3..], StringComparison.Ordinal) == true));
        var row = Assert.Single(rows, r => r["token_sha256"] == hash);
        Assert.Equal("carol", row["user_id"]);
        Assert.Equal("laptop", row["name"]);

        (exit, stdout, stderr) = await fx.CliAsync("list", "--user", "carol");
        Assert.True(exit == 0, stderr);
        var line = Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith(hash[..12], StringComparison.Ordinal));
        Assert.Contains("carol", line);
        Assert.Contains("laptop", line);
        Assert.Contains("yes", line);
        Assert.EndsWith("-", line.Trim());
        Assert.DoesNotContain(token, stdout);

        (exit, stdout, stderr) = await fx.CliAsync("revoke", hash[..8]);
        Assert.True(exit == 0, stderr);
        Assert.Contains(hash[..12], stdout);

        (_, stdout, _) = await fx.CliAsync("list", "--user", "carol");
        line = Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith(hash[..12], StringComparison.Ordinal));
        Assert.False(line.Trim().EndsWith('-'), $"not shown as revoked: {line}");
        Assert.NotNull((await ReadTableAsync()).Single(r => r["token_sha256"] == hash)["revoked_at"]);

        // A cached lookup may let it through for up to Auth:TokenCacheSeconds (1 s here); then it is refused.
        var until = DateTime.UtcNow.AddSeconds(3);
        HttpResponseMessage refused;
        while ((refused = await fx.Client(token).GetAsync("/system/info", Ct)).StatusCode != HttpStatusCode.Unauthorized)
        {
            Assert.True(DateTime.UtcNow < until, $"the revoked token still answers {(int)refused.StatusCode} after 3 s (the cache keeps it 1 s)");
            await Task.Delay(100, Ct);
        }
        await AssertErrorAsync(refused, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task List_ForAUser_ShowsOnlyThatUsersTokens()
    {
        await fx.NewTokenAsync("dave");
        await fx.NewTokenAsync("erin");
        var (exit, stdout, _) = await fx.CliAsync("list", "--user", "dave");
        Assert.Equal(0, exit);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("HASH", lines[0]);
        Assert.All(lines.Skip(1), l => Assert.Contains(" dave ", l));
        Assert.Single(lines.Skip(1));
    }

    [Theory]
    [InlineData("abc123")]          // shorter than 8 hex characters
    [InlineData("zzzzzzzzzz")]      // not hex
    public async Task Revoke_WithABadPrefix_FailsAndRevokesNothing(string prefix)
    {
        var token = await fx.NewTokenAsync("frank");
        var (exit, _, stderr) = await fx.CliAsync("revoke", prefix);
        Assert.NotEqual(0, exit);
        Assert.Contains("8 to 64 hex", stderr);
        Assert.Null((await ReadTableAsync()).Single(r => r["token_sha256"] == TokenStore.Hash(token))["revoked_at"]);
    }

    [Fact]
    public async Task Revoke_WithAnUnknownPrefix_Fails()
    {
        var (exit, _, stderr) = await fx.CliAsync("revoke", "00000000deadbeef");
        Assert.Equal(1, exit);
        Assert.Contains("no active token", stderr);
    }

    [Theory]
    [InlineData("create")]
    [InlineData("create", "--user")]
    [InlineData("create", "--user", "a b")]
    [InlineData("frobnicate")]
    [InlineData("list", "--bogus")]
    public async Task BadArguments_ExitNonZeroWithUsage(params string[] args)
    {
        var (exit, _, stderr) = await fx.CliAsync(args);
        Assert.NotEqual(0, exit);
        Assert.Contains("usage:", stderr);
    }

    private async Task<List<Dictionary<string, string?>>> ReadTableAsync()
    {
        await using var c = new SqliteConnection($"Data Source={fx.DatabasePath}");
        await c.OpenAsync(Ct);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT * FROM api_tokens";
        await using var reader = await cmd.ExecuteReaderAsync(Ct);
        var rows = new List<Dictionary<string, string?>>();
        while (await reader.ReadAsync(Ct))
        {
            var row = new Dictionary<string, string?>();
            for (var i = 0; i < reader.FieldCount; i++)
                row[reader.GetName(i)] = reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
            rows.Add(row);
        }
        return rows;
    }
}
