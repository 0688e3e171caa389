using System.Diagnostics;

namespace Agents.Micro.Gateway.Edge;

/// <summary>
/// The public edge does not continue a trace a client claims to be part of: a forged or careless <c>traceparent</c>
/// would put its requests into someone else's trace (or force sampling of them). Each request starts a new trace, and
/// the client's context is kept as a link on the edge's span, so a client's own tracing can still find it.
/// <c>Telemetry:TrustIncomingTraceContext=true</c> (a trusted caller in front, such as another traced service) continues it.
/// </summary>
public sealed class UntrustedTraceContext(DistributedContextPropagator inner) : DistributedContextPropagator
{
    public override IReadOnlyCollection<string> Fields => inner.Fields;

    // ASP.NET Core's hosting layer asks the DI propagator for the parent: there is none.
    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
    {
        traceId = null;
        traceState = null;
    }

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) => null;

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter) => inner.Inject(activity, carrier, setter);

    /// <summary>Adds the client's claimed context as a link of the request's span (if it parses as a W3C traceparent).</summary>
    public static void LinkClientContext(HttpContext ctx)
    {
        if (Activity.Current is not { } span || !ctx.Request.Headers.TryGetValue("traceparent", out var header)) return;
        if (ActivityContext.TryParse(header.ToString(), ctx.Request.Headers.TraceState.ToString(), isRemote: true, out var claimed))
            span.AddLink(new ActivityLink(claimed, new ActivityTagsCollection { ["agents.link"] = "client" }));
    }
}
