using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Agents.Micro.ServiceDefaults.Data;

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
        AddPolicies(builder.Services);
        return builder;
    }

    /// <summary>The public edge (gateway, or the embedded host): bearer tokens checked against the token store.</summary>
    public static IHostApplicationBuilder AddBearerTokenAuth(this IHostApplicationBuilder builder)
    {
        builder.AddDatabase();
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<TokenStore>();
        builder.Services.TryAddSingleton<TokenAuthenticator>();
        builder.Services.TryAddSingleton<AuthFailureLimiter>();
        builder.Services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null);
        AddPolicies(builder.Services);
        return builder;
    }

    public const string AdminPolicy = "admin";

    private static void AddPolicies(IServiceCollection services) =>
        services.AddAuthorizationBuilder()
            .SetDefaultPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireClaim(CallerIdentity.UserIdClaim).Build())
            .AddPolicy(AdminPolicy, p => p.RequireAuthenticatedUser().RequireClaim(CallerIdentity.AdminClaim, "true"));
}
