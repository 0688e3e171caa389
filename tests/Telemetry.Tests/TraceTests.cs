using System.Net.Http.Json;
using System.Text.Json;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Telemetry.Tests;

/// <summary>What an operator sees in a tracing backend for one task: the whole path, across processes and the broker, and its logs.</summary>
[Collection(TracingCollection.Name)]
public sealed class TraceTests(TracingFixture fx)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task AnMcpCall_IsATraceSpan_NamingItsServerAndTool_WithTheSdksRequestBeneathIt()
    {
        using var http = await fx.GatewayClientAsync("trace-mcp-" + Guid.NewGuid().ToString("N")[..8]);
        var (taskId, traceId) = await SendAsync(http, "call tool everything__echo with message=traced");
        var polled = await TaskPolling.PollAsync(http, taskId);
        Assert.Equal("task_completed", polled.Types.Last());

        var trace = await fx.Receiver.WaitForAsync(r =>
        {
            var t = r.Trace(traceId);
            return t.Any(s => s.Name == "tool everything__echo" && Rooted(t, s)) && t.Any(s => s.Name == "task.run") ? t : null;
        }, Wait, $"the trace {traceId} with the MCP tool's span");
        var tool = trace.Single(s => s.Name == "tool everything__echo");
        Assert.Equal("everything", tool["agents.mcp.server"]);
        Assert.Equal("echo", tool["agents.mcp.tool"]);
        Assert.Equal(true, tool["agents.tool.ok"]);
        Assert.Contains(trace.Single(s => s.Name == "task.run"), Ancestors(trace, tool));
        // The SDK's own span for the request (source Experimental.ModelContextProtocol), inside the tool's.
        Assert.Contains(trace, s => s.ServiceName == "agent-worker" && s.Name.Contains("tools/call", StringComparison.Ordinal) && Ancestors(trace, s).Contains(tool));
    }

    [Fact]
    public async Task OneMessage_IsOneTrace_FromGatewayThroughRabbitMqToWorker_WithModelToolAndStoreSpans()
    {
        using var http = await fx.GatewayClientAsync("trace-" + Guid.NewGuid().ToString("N")[..8]);
        var (taskId, traceId) = await SendAsync(http, "list my files");
        var polled = await TaskPolling.PollAsync(http, taskId);
        Assert.Equal("task_completed", polled.Types.Last());
        Assert.Contains("tool_end", polled.Types);

        var trace = await fx.Receiver.WaitForAsync(r =>
        {
            var t = r.Trace(traceId);
            return t.Any(s => s.Name == "tool list_files" && Rooted(t, s)) && t.Count(IsModel) >= 2
                && t.Any(s => s.Name == "task.run" && Equals(s["agents.outcome"], "completed") && Rooted(t, s)) ? t : null;
        }, Wait, $"the trace {traceId} with its tool, model and task spans");

        // All three services in one trace, under one root: the gateway's server span.
        Assert.Subset(trace.Select(s => s.ServiceName).ToHashSet(), new HashSet<string> { "gateway", "task-api", "agent-worker" });
        var root = Assert.Single(trace, s => s.ParentSpanId is null);
        Assert.Equal(("gateway", SpanKind.Server), (root.ServiceName, root.Kind));
        Assert.StartsWith("POST /api/v1/messages", root.Name); // the gateway's route pattern
        Assert.Equal(202L, root["http.response.status_code"]);

        // Parent/child links intact across the broker: the worker's run → its consume span → TaskApi's send → TaskApi's
        // server span → the gateway's server span, every span on the way exported.
        var run = trace.Single(s => s.Name == "task.run");
        Assert.Equal(taskId, run["agents.task_id"]);
        Assert.Empty(run.Links);
        var chain = Ancestors(trace, run);
        Assert.Same(root, chain[^1]);
        var consume = chain.FindIndex(s => s.ServiceName == "agent-worker" && s.Kind == SpanKind.Consumer);
        var send = chain.FindIndex(s => s.ServiceName == "task-api" && s.Kind == SpanKind.Producer);
        var server = chain.FindIndex(s => s.ServiceName == "task-api" && s.Kind == SpanKind.Server);
        Assert.True(consume >= 0 && send > consume && server > send, "run ← consume ← send ← TaskApi server ← gateway: " + string.Join(" ← ", chain));
        Assert.Equal(("POST /api/v1/messages", "POST"), (chain[server].Name, chain[server]["http.request.method"]));

        // Model calls: the model, the run mode and the tokens; the first one asked for the tool.
        var models = trace.Where(IsModel).ToList();
        Assert.All(models, m =>
        {
            Assert.Equal("local", m["gen_ai.request.model"]);
            Assert.Equal("fast", m["agents.run_mode"]);
            Assert.True(m["gen_ai.usage.input_tokens"] is long n && n > 0, "input tokens on " + m);
            Assert.True(m["gen_ai.usage.output_tokens"] is long, "output tokens on " + m);
            Assert.Contains(run, Ancestors(trace, m));
        });
        Assert.Contains(models, m => Equals(m["agents.tool_calls"], 1L));

        // The tool call: its name and outcome, and the S3 request it made (AWSSDK over HttpClient) beneath it.
        var tool = trace.Single(s => s.Name == "tool list_files");
        Assert.Equal("list_files", tool["agents.tool.name"]);
        Assert.Equal(true, tool["agents.tool.ok"]);
        Assert.Contains(trace, s => s.ServiceName == "agent-worker" && s.Kind == SpanKind.Client
            && (s["url.full"] as string ?? "").StartsWith(TracingFixture.S3Url, StringComparison.Ordinal) && Ancestors(trace, s).Contains(tool));

        // Event-store write batches, with their sizes, and the SQL beneath them (Npgsql).
        var commits = trace.Where(s => s.Name == "events.commit").ToList();
        Assert.NotEmpty(commits);
        Assert.Contains(commits, c => c["agents.events"] is long n && n > 0);
        Assert.Contains(trace, s => s.Scope == "Npgsql" && Ancestors(trace, s).Any(a => a.Name == "events.commit"));

        // No prompt in any attribute (Telemetry:RecordContent is off), and the operator's resource attributes everywhere.
        Assert.DoesNotContain(trace, s => s.Attributes.Values.Any(v => v is string str && str.Contains("list my files", StringComparison.OrdinalIgnoreCase)));
        Assert.All(trace, s => Assert.Equal(TracingFixture.Environment, s.Resource.GetValueOrDefault("deployment.environment")));
        Assert.Contains("from-env", fx.Receiver.TestHeaders);

        // The task's logs arrive over OTLP in the same trace: the worker's lines about this run carry the trace id and
        // the task.run span, with the message and its structured fields.
        var logs = await fx.Receiver.WaitForAsync(r =>
        {
            var l = r.Logs.Where(x => x.TraceId == traceId && x.Body.Contains(taskId, StringComparison.Ordinal)).ToList();
            return l.Any(x => x.Body.Contains("ended: completed", StringComparison.Ordinal)) ? l : null;
        }, Wait, $"the logs of task {taskId} in trace {traceId}");
        var started = Assert.Single(logs, l => l.Body.StartsWith($"task {taskId} attempt 1 started on ", StringComparison.Ordinal));
        Assert.Equal(("agent-worker", run.SpanId), (started.ServiceName, started.SpanId));
        Assert.Equal(taskId, started["TaskId"]);
        Assert.Equal("Information", started.Severity);
    }

    [Fact]
    public async Task Resume_RunsInItsOwnTrace_LinkedToTheTasksOriginalTrace()
    {
        using var http = await fx.GatewayClientAsync("resume-" + Guid.NewGuid().ToString("N")[..8]);
        var (taskId, original) = await SendAsync(http, "write file notes/traced.txt with hello");
        await TaskPolling.PollAsync(http, taskId, t => t.Status == "interrupted");

        var resp = await http.PostAsJsonAsync($"/api/v1/tasks/{taskId}/resume", new { response_type = "accept" });
        Assert.Equal(200, (int)resp.StatusCode);
        var resumeTrace = Assert.Single(resp.Headers.GetValues("X-Trace-Id"));
        Assert.NotEqual(original, resumeTrace);
        var polled = await TaskPolling.PollAsync(http, taskId);
        Assert.Equal("task_completed", polled.Types.Last());

        var trace = await fx.Receiver.WaitForAsync(r =>
        {
            var t = r.Trace(resumeTrace);
            return t.Any(s => s.Name == "task.run" && Equals(s["agents.outcome"], "completed") && Rooted(t, s))
                && t.Any(s => s.Name == "task.resume") && t.Any(s => s.Name == "tool write_file") ? t : null;
        }, Wait, "the resume's trace");

        // TaskApi's resume and the worker's continued run both link to where the task began; the run is still
        // parented in the resume request's trace (gateway → TaskApi → ResumeTask → worker).
        var resume = trace.Single(s => s.Name == "task.resume");
        Assert.Equal("task-api", resume.ServiceName);
        Assert.Contains(resume.Links, l => l.TraceId == original);
        var run = trace.Single(s => s.Name == "task.run");
        var link = Assert.Single(run.Links);
        Assert.Equal(original, link.TraceId);
        Assert.Equal("continues", link.Attributes.GetValueOrDefault("agents.link"));
        var chain = Ancestors(trace, run);
        Assert.Equal(("gateway", SpanKind.Server), (chain[^1].ServiceName, chain[^1].Kind));
        Assert.Contains(trace, s => s.Name == "tool write_file" && Equals(s["agents.tool.ok"], true));

        // The original trace holds the first run, which ended in the interrupt.
        Assert.True(fx.Receiver.Trace(original).Any(s => s.Name == "task.run" && Equals(s["agents.outcome"], "interrupted")),
            "runs: " + string.Join("; ", fx.Receiver.Spans.Where(s => s.Name == "task.run").Select(s => $"{s.TraceId} {s["agents.task_id"]} {s["agents.outcome"]} root {fx.Receiver.Trace(s.TraceId).FirstOrDefault(x => x.ParentSpanId is null)} chain {string.Join(" <- ", Ancestors(fx.Receiver.Trace(s.TraceId), s))}")) + " original " + original + " task " + taskId + "\n" + fx.Problems());
    }

    [Fact]
    public async Task Cancel_IsLinkedToTheTasksOriginalTrace_InTaskApiAndOnTheWorkerHoldingIt()
    {
        using var http = await fx.GatewayClientAsync("cancel-" + Guid.NewGuid().ToString("N")[..8]);
        var (taskId, original) = await SendAsync(http, "count to 5000");
        await TaskPolling.PollAsync(http, taskId, t => t.Types.Contains("text_chunk"));

        var resp = await http.PostAsync($"/api/v1/tasks/{taskId}/cancel", null);
        Assert.Equal(200, (int)resp.StatusCode);
        var cancelTrace = Assert.Single(resp.Headers.GetValues("X-Trace-Id"));
        var polled = await TaskPolling.PollAsync(http, taskId);
        Assert.Equal("task_cancelled", polled.Types.Last());

        var trace = await fx.Receiver.WaitForAsync(r =>
        {
            var t = r.Trace(cancelTrace);
            return t.Any(s => s.Name == "task.cancel" && s.ServiceName == "agent-worker" && Rooted(t, s))
                && t.Any(s => s.Name == "task.cancel" && s.ServiceName == "task-api") ? t : null;
        }, Wait, "the cancel's trace reaching the worker");
        Assert.Contains(trace, s => s.Name == "task.cancel" && s.ServiceName == "task-api" && s.Links.Any(l => l.TraceId == original));
        var onWorker = trace.Single(s => s.Name == "task.cancel" && s.ServiceName == "agent-worker");
        Assert.Contains(onWorker.Links, l => l.TraceId == original);
        Assert.Contains(Ancestors(trace, onWorker), s => s.ServiceName == "task-api" && s.Kind == SpanKind.Producer);

        await fx.Receiver.WaitForAsync(r => r.Trace(original).FirstOrDefault(s => s.Name == "task.run" && Equals(s["agents.outcome"], "cancelled")),
            Wait, "the original run ending cancelled");

        // The worker's JSON log line about the cancel carries the cancel's trace and span ids.
        var line = fx.Workers.SelectMany(w => w.Output.Split('\n')).Single(l => l.Contains($"cancelling task {taskId}"));
        var scopes = JsonDocument.Parse(line).RootElement.GetProperty("Scopes").EnumerateArray().ToList();
        Assert.Contains(scopes, sc => sc.TryGetProperty("TraceId", out var t) && t.GetString() == cancelTrace
            && sc.TryGetProperty("SpanId", out var sp) && trace.Any(x => x.SpanId == sp.GetString()));
    }

    /// <summary>True when every ancestor of <paramref name="span"/> up to a root has arrived (spans are exported as they end).</summary>
    private static bool Rooted(IReadOnlyList<ReceivedSpan> trace, ReceivedSpan span)
    {
        var byId = trace.GroupBy(s => s.SpanId).ToDictionary(g => g.Key, g => g.First());
        for (var current = span; current.ParentSpanId is { } parent; current = byId[parent])
        {
            if (!byId.ContainsKey(parent)) return false;
        }
        return true;
    }

    private static bool IsModel(ReceivedSpan s) => s.Name.StartsWith("model ", StringComparison.Ordinal);

    [Fact]
    public async Task HealthProbes_AndIdleDatabasePolls_MakeNoSpans()
    {
        // Probes as Docker and load balancers send them, to every process; the gateway's readiness also probes TaskApi.
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        // (The gateway here has no files or memory service behind it, so its readiness answers 503: a probe all the same.)
        foreach (var service in fx.Workers.Append(fx.Gateway).Append(fx.TaskApi))
        {
            (await probe.GetAsync(service.BaseUrl + "/health/live")).EnsureSuccessStatusCode();
            using var ready = await probe.GetAsync(service.BaseUrl + "/health/ready");
            Assert.True(ready.StatusCode is System.Net.HttpStatusCode.OK or System.Net.HttpStatusCode.ServiceUnavailable, $"{service.Name}: {(int)ready.StatusCode}");
        }
        // A traced request after them: once its spans from the gateway and TaskApi are in, every batch those processes
        // exported before it is in too (each exports in order).
        using var http = await fx.GatewayClientAsync("quiet-" + Guid.NewGuid().ToString("N")[..8]);
        var (_, traceId) = await SendAsync(http, "hello");
        await fx.Receiver.WaitForAsync(r =>
        {
            var t = r.Trace(traceId);
            return t.Any(x => x.ServiceName == "gateway") && t.Any(x => x.ServiceName == "task-api") ? t : null;
        }, Wait, $"the trace {traceId} from the gateway and TaskApi");

        var spans = fx.Receiver.Spans;
        Assert.DoesNotContain(spans, x => (x["url.path"] as string ?? x["url.full"] as string ?? "").Contains("/health", StringComparison.Ordinal));
        // The services' background loops (sweeps, lease renewals, stream re-checks) query the database all the time;
        // none of those queries may start a trace of its own.
        Assert.DoesNotContain(spans, x => x.Scope == "Npgsql" && x.ParentSpanId is null);
    }

    [Fact]
    public async Task AClientsTraceparent_IsNotAdopted_ItIsKeptAsALinkOfTheGatewaysSpan()
    {
        using var http = await fx.GatewayClientAsync("untrusted-" + Guid.NewGuid().ToString("N")[..8]);
        var claimedTrace = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages") { Content = JsonContent.Create(new { message = "hello" }) };
        request.Headers.Add("traceparent", $"00-{claimedTrace}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8))}-01");
        using var resp = await http.SendAsync(request);
        Assert.Equal(202, (int)resp.StatusCode);
        var traceId = Assert.Single(resp.Headers.GetValues("X-Trace-Id"));

        // A new trace, end to end (TaskApi answered from it), rooted at the gateway, with the client's context as a link.
        Assert.NotEqual(claimedTrace, traceId);
        var root = await fx.Receiver.WaitForAsync(r => r.Trace(traceId).FirstOrDefault(s => s.ParentSpanId is null && s.ServiceName == "gateway"),
            Wait, $"the gateway's root span of {traceId}");
        var link = Assert.Single(root.Links);
        Assert.Equal((claimedTrace, "client"), (link.TraceId, link.Attributes["agents.link"]));
        Assert.Empty(fx.Receiver.Trace(claimedTrace));
    }

    private static async Task<(string TaskId, string TraceId)> SendAsync(HttpClient http, string message)
    {
        var resp = await http.PostAsJsonAsync("/api/v1/messages", new { message });
        var body = await resp.Content.ReadAsStringAsync();
        Assert.True(202 == (int)resp.StatusCode, body);
        // The trace id to search for in Jaeger comes back with the 202.
        var traceId = Assert.Single(resp.Headers.GetValues("X-Trace-Id"));
        Assert.Matches("^[0-9a-f]{32}$", traceId);
        return (JsonDocument.Parse(body).RootElement.GetProperty("task_id").GetString()!, traceId);
    }

    /// <summary>The span's parents up to the root; fails if a parent is missing (a broken link).</summary>
    private static List<ReceivedSpan> Ancestors(IReadOnlyList<ReceivedSpan> trace, ReceivedSpan span)
    {
        var byId = trace.ToDictionary(s => s.SpanId);
        var chain = new List<ReceivedSpan>();
        var current = span;
        while (current.ParentSpanId is { } parent)
        {
            Assert.True(byId.TryGetValue(parent, out var p), $"parent {parent} of {current} is not in the trace: {string.Join(" ← ", chain)}");
            chain.Add(p);
            current = p;
        }
        return chain;
    }
}
