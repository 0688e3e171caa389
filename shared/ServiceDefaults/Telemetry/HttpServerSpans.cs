using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Agents.Micro.ServiceDefaults.Telemetry;

/// <summary>
/// Gives ASP.NET Core's server spans what the instrumentation package would (it is not available here): the name
/// <c>POST /api/v1/messages</c> instead of <c>Microsoft.AspNetCore.Hosting.HttpRequestIn</c>, and the HTTP semantic
/// convention attributes. Runs first in the pipeline (a startup filter), so it sees every request including errors.
/// The query string is left out: it is the one place a client might put a secret.
/// </summary>
public sealed class HttpServerSpans : IStartupFilter
{
    private const string RequestActivity = "Microsoft.AspNetCore.Hosting.HttpRequestIn";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (ctx, nextMiddleware) =>
        {
            var activity = Activity.Current;
            if (activity is not { OperationName: RequestActivity, IsAllDataRequested: true })
            {
                await nextMiddleware(ctx);
                return;
            }
            var request = ctx.Request;
            activity.SetTag("http.request.method", request.Method);
            activity.SetTag("url.scheme", request.Scheme);
            activity.SetTag("url.path", request.Path.Value);
            activity.SetTag("server.address", request.Host.Host);
            if (request.Host.Port is { } port) activity.SetTag("server.port", port);
            try
            {
                await nextMiddleware(ctx);
            }
            finally
            {
                var route = (ctx.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
                if (route is not null)
                {
                    if (!route.StartsWith('/')) route = "/" + route;
                    activity.SetTag("http.route", route);
                }
                activity.DisplayName = route is null ? request.Method : $"{request.Method} {route}";
                var status = ctx.Response.StatusCode;
                activity.SetTag("http.response.status_code", status);
                if (status >= 500) activity.SetStatus(ActivityStatusCode.Error);
            }
        });
        next(app);
    };
}
