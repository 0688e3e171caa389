using Agents.Micro.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Agents.Micro.Gateway.Proxy;

/// <summary>
/// Turns YARP's empty-bodied failures into the API's error body, naming the service that failed but nothing about
/// its address or the exception (those go to the log YARP already writes).
/// </summary>
public static class ForwarderErrors
{
    public static IReverseProxyApplicationBuilder UseForwarderErrors(this IReverseProxyApplicationBuilder proxy)
    {
        proxy.Use(async (ctx, next) =>
        {
            await next(ctx);
            var error = ctx.GetForwarderErrorFeature();
            if (error is null || ctx.Response.HasStarted) return;

            var feature = ctx.GetReverseProxyFeature();
            var service = ServiceNames.Of(feature.Cluster?.Config, feature.Route.Config.ClusterId);
            var (status, message) = Describe(error, service);
            if (status == 0) return;
            await ApiError.WriteAsync(ctx, status, message);
        });
        return proxy;
    }

    private static (int Status, string Message) Describe(IForwarderErrorFeature error, string service) => error.Error switch
    {
        ForwarderError.NoAvailableDestinations => (503, $"{service} unavailable"),
        ForwarderError.RequestTimedOut => (504, $"{service} timed out"),
        ForwarderError.Request or ForwarderError.RequestCreation when IsTimeout(error.Exception) => (504, $"{service} timed out"),
        // Could not connect or send: the service is down or restarting.
        ForwarderError.Request or ForwarderError.RequestCreation => (503, $"{service} unavailable"),
        ForwarderError.RequestBodyClient when BodyTooLarge(error.Exception) => (413, "request body too large"),
        ForwarderError.RequestBodyClient => (400, "could not read the request body"),
        // The client went away: nobody to answer.
        ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
            or ForwarderError.ResponseBodyClient or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeResponseCanceled => (0, ""),
        _ => (502, $"{service} failed"),
    };

    private static bool IsTimeout(Exception? ex) => ex is TimeoutException || ex?.InnerException is TimeoutException;

    private static bool BodyTooLarge(Exception? ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
            if (e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }) return true;
        return false;
    }
}
