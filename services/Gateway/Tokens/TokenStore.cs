using System.Security.Cryptography;
using System.Text;
using Agents.Micro.ServiceDefaults.Data;
using Dapper;

namespace Agents.Micro.Gateway.Tokens;

/// <summary>A stored API token: only its SHA-256 hash is ever kept.</summary>
public sealed class ApiToken
{
    public string TokenSha256 { get; set; } = "";
    public string UserId { get; set; } = "";
    public string Name { get; set; } = "";
    public bool IsAdmin { get; set; }
    public double CreatedAt { get; set; }
    public double? LastUsedAt { get; set; }
    public double? RevokedAt { get; set; }
}

/// <summary>The <c>api_tokens</c> table. Tokens are random strings shown once at creation; the table holds their hashes.</summary>
public sealed class TokenStore(SqlDatabase db)
{
    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>A new random token: 32 bytes of entropy, URL-safe, with a recognisable prefix.</summary>
    public static string NewToken() => "am_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public Task EnsureSchemaAsync(CancellationToken ct = default) => db.EnsureSchemaAsync("api_tokens",
    [
        """
        CREATE TABLE IF NOT EXISTS api_tokens (
            token_sha256 TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            name TEXT NOT NULL,
            is_admin BOOLEAN NOT NULL DEFAULT FALSE,
            created_at DOUBLE PRECISION NOT NULL,
            last_used_at DOUBLE PRECISION NULL,
            revoked_at DOUBLE PRECISION NULL)
        """,
        "CREATE INDEX IF NOT EXISTS ix_api_tokens_user ON api_tokens(user_id)",
    ], ct);

    /// <summary>Whether the database has the token table (created by the gateway or the embedded host on start-up).</summary>
    public async Task<bool> ExistsAsync(CancellationToken ct = default)
    {
        await using var conn = await db.OpenAsync(ct);
        var sql = db.IsPostgres
            ? "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'api_tokens' AND table_schema = current_schema()"
            : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'api_tokens'";
        return await Dapper.SqlMapper.ExecuteScalarAsync<long>(conn, new Dapper.CommandDefinition(sql, cancellationToken: ct)) > 0;
    }

    /// <summary>Creates a token for <paramref name="userId"/> and returns it in clear text: the only time it is ever seen.</summary>
    public async Task<string> CreateAsync(string userId, string name, bool isAdmin, CancellationToken ct = default)
    {
        var token = NewToken();
        await db.WriteAsync(async (c, tx) => await c.ExecuteAsync(
            "INSERT INTO api_tokens(token_sha256, user_id, name, is_admin, created_at) VALUES (@h, @u, @n, @a, @t)",
            new { h = Hash(token), u = userId, n = name, a = isAdmin, t = UnixTime.Now() }, tx), ct);
        return token;
    }

    /// <summary>Adds a token known only by its hash (configuration bootstrap); existing rows are left alone.</summary>
    public Task ImportHashAsync(string sha256, string userId, string name, bool isAdmin, CancellationToken ct = default) =>
        db.WriteAsync(async (c, tx) => await c.ExecuteAsync(
            "INSERT INTO api_tokens(token_sha256, user_id, name, is_admin, created_at) VALUES (@h, @u, @n, @a, @t) ON CONFLICT (token_sha256) DO NOTHING",
            new { h = sha256.ToLowerInvariant(), u = userId, n = name, a = isAdmin, t = UnixTime.Now() }, tx), ct);

    public async Task<ApiToken?> FindAsync(string sha256, CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        return await c.QuerySingleOrDefaultAsync<ApiToken>(new CommandDefinition(
            "SELECT token_sha256 AS TokenSha256, user_id AS UserId, name AS Name, is_admin AS IsAdmin, created_at AS CreatedAt, last_used_at AS LastUsedAt, revoked_at AS RevokedAt FROM api_tokens WHERE token_sha256 = @h",
            new { h = sha256 }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<ApiToken>> ListAsync(string? userId = null, CancellationToken ct = default)
    {
        await using var c = await db.OpenAsync(ct);
        var rows = await c.QueryAsync<ApiToken>(new CommandDefinition(
            "SELECT token_sha256 AS TokenSha256, user_id AS UserId, name AS Name, is_admin AS IsAdmin, created_at AS CreatedAt, last_used_at AS LastUsedAt, revoked_at AS RevokedAt FROM api_tokens WHERE (@u IS NULL OR user_id = @u) ORDER BY created_at",
            new { u = userId }, cancellationToken: ct));
        return rows.ToList();
    }

    /// <summary>Revokes every token whose hash starts with <paramref name="hashPrefix"/> (at least 8 hex chars); returns how many.</summary>
    public Task<int> RevokeAsync(string hashPrefix, CancellationToken ct = default) =>
        db.WriteAsync((c, tx) => c.ExecuteAsync(
            "UPDATE api_tokens SET revoked_at = @t WHERE revoked_at IS NULL AND token_sha256 LIKE @p",
            new { t = UnixTime.Now(), p = hashPrefix.ToLowerInvariant() + "%" }, tx), ct);

    public Task TouchAsync(string sha256, CancellationToken ct = default) =>
        db.WriteAsync((c, tx) => c.ExecuteAsync("UPDATE api_tokens SET last_used_at = @t WHERE token_sha256 = @h",
            new { t = UnixTime.Now(), h = sha256 }, tx), ct);
}
