using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Agents.Micro.ServiceDefaults.Security;

public static class SecurityExtensions
{
    /// <summary>A downstream service: trusts only identities signed by the gateway with the internal key.</summary>
    public static IHostApplicationBuilder AddInternalIdentityAuth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName)
            .Validate(o => o.InternalKey.Length >= 32, "Auth:InternalKey must be set to a secret of at least 32 characters (the same on every service)")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(sp => new InternalIdentity(sp.GetRequiredService<IOptions<AuthOptions>>().Value.InternalKey));
        builder.Services.AddAuthentication(InternalIdentityHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, InternalIdentityHandler>(InternalIdentityHandler.SchemeName, null);
        builder.Services.AddAgentsPolicies();
        return builder;
    }

    public const string AdminPolicy = "admin";

    /// <summary>The default policy (an authenticated user) and <see cref="AdminPolicy"/>, the same on the edge and behind it.</summary>
    public static IServiceCollection AddAgentsPolicies(this IServiceCollection services)
    {
        services.AddAuthorizationBuilder()
            .SetDefaultPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireClaim(CallerIdentity.UserIdClaim).Build())
            .AddPolicy(AdminPolicy, p => p.RequireAuthenticatedUser().RequireClaim(CallerIdentity.AdminClaim, "true"));
        return services;
    }
}
