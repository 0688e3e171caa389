using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Agents.Micro.Gateway.Tokens;

public static class TokenAuthExtensions
{
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
        builder.Services.AddAgentsPolicies();
        return builder;
    }
}
