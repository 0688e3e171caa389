using Agents.Micro.ServiceDefaults.Errors;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Agents.Micro.Gateway.Proxy;

/// <summary>
/// A service's error answer without a body (a router's bare 404 or 405, say) gets the API's error body, as the
/// gateway's own errors do. Status-code pages cannot do it here: the proxied answer carries <c>Content-Length: 0</c>.
/// </summary>
public sealed class ErrorBodyTransformProvider : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context) { }

    public void ValidateCluster(TransformClusterValidationContext context) { }

    public void Apply(TransformBuilderContext context) => context.AddResponseTransform(async t =>
    {
        var response = t.HttpContext.Response;
        if (t.ProxyResponse is null || response.StatusCode < 400 || t.ProxyResponse.Content.Headers.ContentLength != 0) return;
        t.SuppressResponseBody = true;
        response.Headers.ContentLength = null;
        await ApiError.WriteAsync(t.HttpContext, response.StatusCode, ApiError.DefaultMessage(response.StatusCode));
    });
}
