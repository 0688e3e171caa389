using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Agents.Micro.ServiceDefaults.Errors;

/// <summary>Typed results carrying <see cref="ErrorBody"/> with the right status code.</summary>
public static class ApiError
{
    public static JsonHttpResult<ErrorBody> Status(int status, string error) =>
        TypedResults.Json(new ErrorBody(error), statusCode: status);

    public static JsonHttpResult<ErrorBody> BadRequest(string error) => Status(StatusCodes.Status400BadRequest, error);
    public static JsonHttpResult<ErrorBody> Unauthorized(string error) => Status(StatusCodes.Status401Unauthorized, error);
    public static JsonHttpResult<ErrorBody> Forbidden(string error) => Status(StatusCodes.Status403Forbidden, error);
    public static JsonHttpResult<ErrorBody> NotFound(string error) => Status(StatusCodes.Status404NotFound, error);
    public static JsonHttpResult<ErrorBody> Conflict(string error) => Status(StatusCodes.Status409Conflict, error);
    public static JsonHttpResult<ErrorBody> TooLarge(string error) => Status(StatusCodes.Status413PayloadTooLarge, error);
    public static JsonHttpResult<ErrorBody> UnsupportedMediaType(string error) => Status(StatusCodes.Status415UnsupportedMediaType, error);
    public static JsonHttpResult<ErrorBody> TooManyRequests(string error) => Status(StatusCodes.Status429TooManyRequests, error);
    public static JsonHttpResult<ErrorBody> Unavailable(string error) => Status(StatusCodes.Status503ServiceUnavailable, error);

    /// <summary>Writes the error body directly (for middleware that runs outside an endpoint).</summary>
    public static Task WriteAsync(HttpContext ctx, int status, string error)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        return ctx.Response.WriteAsJsonAsync(new ErrorBody(error), ErrorJsonContext.Relaxed.ErrorBody);
    }

    /// <summary>The default message for an empty-bodied error status.</summary>
    public static string DefaultMessage(int status) => status switch
    {
        400 => "bad request",
        401 => "missing or invalid bearer token",
        403 => "forbidden",
        404 => "not found",
        405 => "method not allowed",
        406 => "not acceptable",
        408 => "request timeout",
        409 => "conflict",
        411 => "length required",
        413 => "request body too large",
        414 => "request URI too long",
        415 => "unsupported media type",
        429 => "too many requests",
        431 => "request headers too large",
        502 => "upstream service failed",
        503 => "service unavailable",
        504 => "upstream service timed out",
        _ => status >= 500 ? "internal error" : "request failed",
    };
}
