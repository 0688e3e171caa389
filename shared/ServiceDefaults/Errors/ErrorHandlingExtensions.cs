using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Agents.Micro.ServiceDefaults.Errors;

public static class ErrorHandlingExtensions
{
    /// <summary>
    /// Every error a client can see is <see cref="ErrorBody"/>: exceptions (a client's bad request keeps its 4xx,
    /// anything else is a 500 without details) and empty-bodied statuses such as an unknown route's 404 or a 405.
    /// </summary>
    public static IApplicationBuilder UseApiErrors(this IApplicationBuilder app)
    {
        app.Use(async (ctx, next) =>
        {
            try
            {
                await next(ctx);
            }
            catch (BadHttpRequestException ex) when (!ctx.Response.HasStarted)
            {
                var status = ex.StatusCode is >= 400 and < 500 ? ex.StatusCode : 400;
                var msg = status == 413 ? "request body too large" : ClientMessage(ex);
                await ApiError.WriteAsync(ctx, status, msg);
            }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
            {
                // The client went away; nothing to answer.
            }
            catch (Exception ex) when (!ctx.Response.HasStarted)
            {
                ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Agents.Micro.Errors")
                    .LogError(ex, "Unhandled error on {Method} {Path}", ctx.Request.Method, ctx.Request.Path);
                await ApiError.WriteAsync(ctx, 500, "internal error");
            }
        });
        app.UseStatusCodePages(async sc =>
        {
            var ctx = sc.HttpContext;
            if (ctx.Response.HasStarted || ctx.Response.ContentLength > 0 || ctx.Response.ContentType is not null) return;
            await ApiError.WriteAsync(ctx, ctx.Response.StatusCode, ApiError.DefaultMessage(ctx.Response.StatusCode));
        });
        return app;
    }

    private static string ClientMessage(BadHttpRequestException ex)
    {
        // Framework messages for binding failures are safe and useful ("Failed to read parameter …"); keep them short.
        var m = ex.Message;
        return m.Length > 300 ? m[..300] : m;
    }
}
