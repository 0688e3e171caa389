using System.Globalization;
using System.Text.RegularExpressions;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;

namespace Agents.Micro.Gateway.Tokens;

/// <summary>
/// <c>tokens create|list|revoke</c>: an operator's token commands, run by the gateway executable instead of the server.
/// They use the same <c>Database:*</c> configuration (appsettings.json, then environment variables).
/// </summary>
public static partial class TokenCli
{
    public const string Usage = """
        usage:
          tokens create --user <user-id> [--admin] [--name <name>]   create a token and print it (once)
          tokens list [--user <user-id>]                             list tokens (hash prefix, never the token)
          tokens revoke <hash-prefix>                                revoke one token (8 or more hex characters)
        configuration: Database__Provider (postgres|sqlite), Database__ConnectionString
        """;

    public static bool IsInvocation(string[] args) => args.Length > 0 && args[0] == "tokens";

    private static string NoStore(string what) =>
        $"{what}. Start the gateway once against the deployment's database (it creates the token store), or set " +
        "Database__Provider and Database__ConnectionString to it. For the embedded default, run the command with the embedded " +
        "host instead: dotnet run --project services/Standalone -- tokens create --user <user-id> (same data folder, AGENTS_DATA_DIR).";

    /// <summary>The configuration the server would see: appsettings(.{environment}).json, then environment variables.</summary>
    public static IConfiguration LoadConfiguration()
    {
        var environment = Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT")
            ?? Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") ?? "Production";
        return new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddJsonFile($"appsettings.{environment}.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
    }

    /// <summary>
    /// Runs <paramref name="args"/> (starting with <c>tokens</c>); returns the process exit code. It works on a token store
    /// that exists (the gateway creates it on start-up) and never creates tables in a database it was merely defaulted
    /// to; <paramref name="createStore"/> is for the embedded host, whose own data folder it is.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, IConfiguration config, TextWriter stdout, TextWriter stderr, CancellationToken ct = default,
        bool createStore = false)
    {
        var rest = args.SkipWhile(a => a == "tokens").ToArray();
        if (rest.Length == 0 || rest[0] is "help" or "--help" or "-h")
        {
            await stdout.WriteLineAsync(Usage);
            return rest.Length == 0 ? 2 : 0;
        }

        var options = config.GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions();
        if (!ProviderPattern().IsMatch(options.Provider) || string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            await stderr.WriteLineAsync("Database:Provider must be postgres or sqlite, and Database:ConnectionString set");
            return 2;
        }
        var auth = config.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();

        try
        {
            if (!createStore && options.Provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase)
                && new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(options.ConnectionString).DataSource is var file && !File.Exists(file))
                return await FailAsync(stderr, NoStore($"no SQLite database at {Path.GetFullPath(file)}"));
            await using var db = new SqlDatabase(options);
            var store = new TokenStore(db);
            if (createStore) await store.EnsureSchemaAsync(ct);
            else if (!await store.ExistsAsync(ct)) return await FailAsync(stderr, NoStore($"no token table in the {options.Provider} database it was pointed at"));
            return rest[0] switch
            {
                "create" => await CreateAsync(rest[1..], store, stdout, stderr, ct),
                "list" => await ListAsync(rest[1..], store, auth, stdout, stderr, ct),
                "revoke" => await RevokeAsync(rest[1..], store, auth, stdout, stderr, ct),
                _ => await FailAsync(stderr, $"unknown command '{rest[0]}'\n{Usage}"),
            };
        }
        catch (UsageException ex)
        {
            return await FailAsync(stderr, $"{ex.Message}\n{Usage}");
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or IOException)
        {
            // An operator tool: the reason is more useful than a stack trace.
            return await FailAsync(stderr, $"database error: {ex.Message}");
        }
    }

    private static async Task<int> CreateAsync(string[] args, TokenStore store, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var (flags, positional) = Parse(args, valued: ["--user", "--name"], switches: ["--admin"]);
        if (positional.Count > 0) throw new UsageException($"unexpected argument '{positional[0]}'");
        if (!flags.TryGetValue("--user", out var user)) throw new UsageException("--user is required");
        if (!UserIdPattern().IsMatch(user)) throw new UsageException("--user must be 1-128 characters without spaces or control characters");
        var name = flags.GetValueOrDefault("--name") ?? "cli";
        if (name.Length is 0 or > 200) throw new UsageException("--name must be 1-200 characters");
        var admin = flags.ContainsKey("--admin");

        var token = await store.CreateAsync(user, name, admin, ct);
        // The token alone on stdout, so that TOKEN=$(... tokens create ...) works; the rest is for the operator.
        await stdout.WriteLineAsync(token);
        await stderr.WriteLineAsync(
            $"created token for user '{user}' (name '{name}', admin: {(admin ? "yes" : "no")}, hash prefix {TokenStore.Hash(token)[..12]}). " +
            "Keep it now: only its SHA-256 is stored, it cannot be shown again.");
        return 0;
    }

    private static async Task<int> ListAsync(string[] args, TokenStore store, AuthOptions auth, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var (flags, positional) = Parse(args, valued: ["--user"], switches: []);
        if (positional.Count > 0) throw new UsageException($"unexpected argument '{positional[0]}'");
        var user = flags.GetValueOrDefault("--user");
        var rows = await store.ListAsync(user, ct);

        string[] header = ["HASH", "USER", "NAME", "ADMIN", "CREATED", "LAST USED", "REVOKED"];
        var lines = rows.Select(t => new[]
        {
            t.TokenSha256[..12], t.UserId, t.Name, t.IsAdmin ? "yes" : "no", Time(t.CreatedAt), Time(t.LastUsedAt), Time(t.RevokedAt),
        }).ToList();
        var widths = header.Select((h, i) => lines.Select(l => l[i].Length).Append(h.Length).Max()).ToArray();
        await stdout.WriteLineAsync(Row(header, widths));
        foreach (var l in lines) await stdout.WriteLineAsync(Row(l, widths));

        var configured = auth.Tokens.Where(t => user is null || t.UserId == user).ToList();
        if (configured.Count > 0)
            await stderr.WriteLineAsync($"{configured.Count} more token(s) come from configuration (Auth:Tokens): " +
                string.Join(", ", configured.Select(t => $"{t.Sha256.ToLowerInvariant()[..Math.Min(12, t.Sha256.Length)]} ({t.UserId})")));
        return 0;
    }

    private static async Task<int> RevokeAsync(string[] args, TokenStore store, AuthOptions auth, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var (_, positional) = Parse(args, valued: [], switches: []);
        if (positional.Count != 1) throw new UsageException("revoke takes exactly one hash prefix");
        var prefix = positional[0].ToLowerInvariant();
        if (!HashPrefixPattern().IsMatch(prefix)) throw new UsageException("the hash prefix must be 8 to 64 hex characters (see 'tokens list')");

        if (auth.Tokens.Any(t => t.Sha256.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)))
            return await FailAsync(stderr, "that token comes from configuration (Auth:Tokens): remove it there and restart");
        var matches = (await store.ListAsync(null, ct)).Where(t => t.RevokedAt is null && t.TokenSha256.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (matches.Count == 0) return await FailAsync(stderr, $"no active token has a hash starting with {prefix}");
        if (matches.Count > 1) return await FailAsync(stderr, $"{matches.Count} active tokens have hashes starting with {prefix}: give more characters");

        var token = matches[0];
        await store.RevokeAsync(token.TokenSha256, ct);
        await stdout.WriteLineAsync($"revoked {token.TokenSha256[..12]} (user '{token.UserId}', name '{token.Name}'); it stops working within seconds");
        return 0;
    }

    private static (Dictionary<string, string> Flags, List<string> Positional) Parse(string[] args, string[] valued, string[] switches)
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        var positional = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            var eq = a.IndexOf('=');
            var (key, inline) = a.StartsWith("--", StringComparison.Ordinal) && eq > 0 ? (a[..eq], a[(eq + 1)..]) : (a, null);
            if (switches.Contains(key) && inline is null) flags[key] = "";
            else if (valued.Contains(key))
            {
                var value = inline ?? (i + 1 < args.Length ? args[++i] : throw new UsageException($"{key} needs a value"));
                flags[key] = value;
            }
            else if (a.StartsWith('-')) throw new UsageException($"unknown option '{a}'");
            else positional.Add(a);
        }
        return (flags, positional);
    }

    private static string Time(double? unix) => unix is { } t
        ? DateTimeOffset.FromUnixTimeMilliseconds((long)(t * 1000)).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)
        : "-";

    private static string Row(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd();

    private static async Task<int> FailAsync(TextWriter stderr, string message)
    {
        await stderr.WriteLineAsync(message);
        return 1;
    }

    [GeneratedRegex("^(?i:postgres|sqlite)$")]
    private static partial Regex ProviderPattern();

    [GeneratedRegex(@"^[^\s\p{C}]{1,128}$")]
    private static partial Regex UserIdPattern();

    [GeneratedRegex("^[0-9a-f]{8,64}$")]
    private static partial Regex HashPrefixPattern();

    private sealed class UsageException(string message) : Exception(message);
}
