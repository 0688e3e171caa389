using Agents.Micro.ServiceDefaults.Security;

namespace Agents.Micro.TestSupport;

/// <summary>Calls an internal service as the gateway forwards a caller: the caller's identity signed with the deployment's internal key.</summary>
public static class SignedIdentityClient
{
    /// <summary>Every request of <paramref name="client"/> then carries <paramref name="userId"/>'s signed identity (valid for <paramref name="lifetime"/>, an hour by default).</summary>
    public static HttpClient SignedAs(this HttpClient client, InternalIdentity identity, string userId, bool admin = false, TimeSpan? lifetime = null)
    {
        client.DefaultRequestHeaders.Remove(InternalIdentity.HeaderName);
        client.DefaultRequestHeaders.Add(InternalIdentity.HeaderName, identity.Sign(new CallerIdentity(userId, admin), lifetime ?? TimeSpan.FromHours(1)));
        return client;
    }
}
