namespace Agents.Micro.ServiceDefaults.Security;

/// <summary>Authentication settings shared by the gateway (bearer tokens) and the services (signed identity).</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>
    /// Shared secret that signs the caller's identity from the gateway to the services (HMAC-SHA256).
    /// Every service of one deployment must have the same value; at least 32 characters.
    /// </summary>
    public string InternalKey { get; set; } = "";

    /// <summary>How long a signed identity stays valid (seconds). Short: it only has to cross one hop.</summary>
    public int IdentityLifetimeSeconds { get; set; } = 60;

    /// <summary>Tokens known from configuration, by SHA-256 hash (never the token itself).</summary>
    public List<BootstrapToken> Tokens { get; set; } = [];

    /// <summary>How long a token lookup is cached; a revoked token stops working within this time.</summary>
    public int TokenCacheSeconds { get; set; } = 5;

    /// <summary>
    /// Failed authentications (a wrong, revoked or malformed token) one client address may make per minute; beyond
    /// it, every request with a token from that address gets 429 until the minute is over (guessing tokens is slowed
    /// to this rate). 0 turns the limit off.
    /// </summary>
    public int FailedAttemptsPerMinute { get; set; } = 30;
}

/// <summary>A token configured by its SHA-256 hex hash.</summary>
public sealed class BootstrapToken
{
    public string Sha256 { get; set; } = "";
    public string UserId { get; set; } = "";
    public string Name { get; set; } = "bootstrap";
    public bool Admin { get; set; }
}
