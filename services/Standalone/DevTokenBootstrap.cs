using Agents.Micro.Gateway.Tokens;
using Agents.Micro.ServiceDefaults.Security;
using Microsoft.Extensions.Options;

namespace Agents.Micro.Standalone;

/// <summary>
/// First start with no token anywhere: creates an admin token for user <c>dev</c>, prints it once, and keeps it in
/// <c>{data}/dev-token</c> (readable only by its owner) so the README's quickstart can use it.
/// Configured tokens (<c>Auth:Tokens</c>) or existing rows mean nothing is created.
/// </summary>
public sealed class DevTokenBootstrap(TokenStore tokens, IOptions<AuthOptions> auth, IConfiguration config, ILogger<DevTokenBootstrap> log) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var t in auth.Value.Tokens)
            await tokens.ImportHashAsync(t.Sha256, t.UserId, t.Name, t.Admin, cancellationToken);
        var dir = config["Standalone:DataDir"] ?? ".data";
        var file = Path.Combine(dir, "dev-token");
        if (auth.Value.Tokens.Count > 0 || (await tokens.ListAsync(ct: cancellationToken)).Count > 0)
        {
            if (File.Exists(file)) log.LogInformation("Development token: {File}", file);
            return;
        }
        var token = await tokens.CreateAsync("dev", "development token (created on first start)", isAdmin: true, cancellationToken);
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(file, token, cancellationToken);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        log.LogWarning("Created a development token for user 'dev' (admin): {Token}  (saved in {File}). Use: curl -H \"Authorization: Bearer $(cat {File})\" …", token, file, file);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
