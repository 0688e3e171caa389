using Agents.Micro.ServiceDefaults.Security;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Agents.Micro.Gateway.Proxy;

/// <summary>
/// On every route: drops whatever identity a client claims for itself and its credentials, then adds the
/// authenticated caller as an identity signed with the internal key, which is all the services trust.
/// </summary>
public sealed class IdentityTransformProvider(InternalIdentity identity, IOptions<AuthOptions> auth) : ITransformProvider
{
    /// <summary>Identity headers a client could try to forge; never forwarded as received.</summary>
    public static readonly string[] ClientIdentityHeaders = [InternalIdentity.HeaderName, "X-User-Id", "X-Forwarded-User"];

    public void ValidateRoute(TransformRouteValidationContext context) { }

    public void ValidateCluster(TransformClusterValidationContext context) { }

    public void Apply(TransformBuilderContext context)
    {
        foreach (var header in ClientIdentityHeaders) context.AddRequestHeaderRemove(header);
        // The services never need the bearer token; keeping it off internal hops keeps it out of their logs.
        context.AddRequestHeaderRemove("Authorization");
        context.AddQueryRemoveKey("access_token");

        var lifetime = TimeSpan.FromSeconds(Math.Max(1, auth.Value.IdentityLifetimeSeconds));
        context.AddRequestTransform(t =>
        {
            t.ProxyRequest.Headers.Remove(InternalIdentity.HeaderName);
            if (CallerIdentity.From(t.HttpContext.User) is { } caller)
                t.ProxyRequest.Headers.TryAddWithoutValidation(InternalIdentity.HeaderName, identity.Sign(caller, lifetime));
            return ValueTask.CompletedTask;
        });
    }
}
