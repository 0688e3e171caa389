using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

using Agents.Micro.ServiceDefaults.Security;

namespace Agents.Micro.Gateway.Tokens;

/// <summary>
/// Turns a bearer token into a caller. Only hashes are compared; configured hashes are compared in constant time,
/// stored ones are looked up by hash (a timing difference there reveals nothing about a token's preimage).
/// Lookups are cached for <see cref="AuthOptions.TokenCacheSeconds"/>, so a revoked token stops working within that time.
/// </summary>
public sealed class TokenAuthenticator(TokenStore store, IOptions<AuthOptions> options, TimeProvider clock, ILogger<TokenAuthenticator> log)
{
    private readonly ConcurrentDictionary<string, (CallerIdentity? Caller, long Expires)> _cache = new();
    private readonly ConcurrentDictionary<string, long> _touched = new();

    public async Task<CallerIdentity?> AuthenticateAsync(string token, CancellationToken ct)
    {
        if (token.Length is 0 or > 512) return null;
        var hash = TokenStore.Hash(token);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (_cache.TryGetValue(hash, out var hit) && hit.Expires > now) return hit.Caller;

        CallerIdentity? caller = null;
        var hashBytes = Convert.FromHexString(hash);
        foreach (var t in options.Value.Tokens)
        {
            if (t.Sha256.Length == 64 && CryptographicOperations.FixedTimeEquals(hashBytes, Convert.FromHexString(t.Sha256)))
                caller = new CallerIdentity(t.UserId, t.Admin);
        }
        if (caller is null)
        {
            var row = await store.FindAsync(hash, ct);
            if (row is { RevokedAt: null }) caller = new CallerIdentity(row.UserId, row.IsAdmin);
            if (caller is not null) TouchLater(hash, now);
        }
        _cache[hash] = (caller, now + options.Value.TokenCacheSeconds * 1000L);
        if (_cache.Count > 100_000) _cache.Clear();
        return caller;
    }

    // last_used_at is informative: update it at most once a minute per token, off the request path.
    private void TouchLater(string hash, long now)
    {
        if (_touched.TryGetValue(hash, out var last) && now - last < 60_000) return;
        _touched[hash] = now;
        _ = Task.Run(async () =>
        {
            try { await store.TouchAsync(hash); }
            catch (Exception ex) { log.LogDebug(ex, "could not record token use"); }
        });
    }
}
