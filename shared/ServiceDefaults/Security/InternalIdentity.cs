using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Agents.Micro.ServiceDefaults.Security;

/// <summary>
/// The caller's identity as the gateway forwards it: <c>v1.{payload}.{signature}</c>, where the payload is
/// base64url JSON <c>{"sub","adm","exp"}</c> and the signature is HMAC-SHA256 over <c>v1.{payload}</c> with the
/// deployment's internal key. Services accept nothing else: a bare <c>X-User-Id</c> proves nothing.
/// </summary>
public sealed class InternalIdentity
{
    public const string HeaderName = "X-Agents-Identity";
    private readonly byte[] _key;
    private readonly TimeProvider _clock;

    public InternalIdentity(string key, TimeProvider? clock = null)
    {
        if (string.IsNullOrEmpty(key) || key.Length < 32)
            throw new InvalidOperationException("Auth:InternalKey must be set to a secret of at least 32 characters (the same on every service).");
        _key = Encoding.UTF8.GetBytes(key);
        _clock = clock ?? TimeProvider.System;
    }

    public string Sign(CallerIdentity caller, TimeSpan lifetime)
    {
        var exp = _clock.GetUtcNow().Add(lifetime).ToUnixTimeSeconds();
        var json = JsonSerializer.SerializeToUtf8Bytes(new Payload(caller.UserId, caller.IsAdmin, exp));
        var head = "v1." + Base64Url.EncodeToString(json);
        return head + "." + Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(head)));
    }

    /// <summary>The identity in <paramref name="value"/>, or null with the reason it was refused.</summary>
    public CallerIdentity? Verify(string? value, out string reason)
    {
        reason = "missing identity";
        if (string.IsNullOrEmpty(value) || value.Length > 4096) return null;
        var parts = value.Split('.');
        reason = "malformed identity";
        if (parts.Length != 3 || parts[0] != "v1") return null;
        byte[] sig, payload;
        try
        {
            sig = Base64Url.DecodeFromChars(parts[2]);
            payload = Base64Url.DecodeFromChars(parts[1]);
        }
        catch (FormatException)
        {
            return null;
        }
        var expected = HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
        reason = "identity signature invalid";
        if (!CryptographicOperations.FixedTimeEquals(sig, expected)) return null;
        Payload? p;
        try { p = JsonSerializer.Deserialize<Payload>(payload); }
        catch (JsonException) { return null; }
        if (p is null || string.IsNullOrEmpty(p.sub)) return null;
        reason = "identity expired";
        if (p.exp < _clock.GetUtcNow().ToUnixTimeSeconds()) return null;
        reason = "";
        return new CallerIdentity(p.sub, p.adm);
    }

    // Short field names keep the header small; it crosses every internal hop.
    private sealed record Payload(string sub, bool adm, long exp);
}
