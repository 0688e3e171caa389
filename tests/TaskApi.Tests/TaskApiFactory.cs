using Agents.Micro.TestSupport;
using System.Net;
using System.Text;
using System.Text.Json;
using Agents.Micro.ServiceDefaults.Data;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.Storage.Tasks;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Agents.Micro.TaskApi.Tests;

/// <summary>
/// TaskApi as it runs in production (Program.cs, internal identity auth) on a throwaway SQLite file, with MassTransit's
/// test harness in place of the broker so that tests can see the commands it sends. No worker runs: tests move tasks
/// along with <see cref="SimulatedWorker"/>, through the same store calls a worker makes.
/// </summary>
public sealed class TaskApiFactory : WebApplicationFactory<Program>
{
    public const string InternalKey = "taskapi-tests-internal-key-0123456789abcdef";
    private readonly string _dbPath = Path.Combine(Path.GetTempPath(), $"taskapi-tests-{Guid.NewGuid():N}.db");
    private readonly InternalIdentity _identity = new(InternalKey);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Database:Provider", "sqlite");
        builder.UseSetting("Database:ConnectionString", $"Data Source={_dbPath}");
        builder.UseSetting("Messaging:Transport", "inmemory");
        builder.UseSetting("Auth:InternalKey", InternalKey);
        // Tests assert exact commands: keep the stranded-task sweep from re-sending them during a run.
        builder.UseSetting("Dispatch:RedispatchAfterSeconds", "3600");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore", "Warning");
        builder.ConfigureTestServices(services => services.AddMassTransitTestHarness());
    }

    public ITestHarness Harness => Services.GetTestHarness();

    /// <summary>
    /// The app's store, where a task may be named by the id its client knows it by (the agent API's <c>task_id</c>):
    /// tests pick unique ids, so that id finds the one task, whoever owns it.
    /// </summary>
    public ITaskStore Store => ClientIdStore.Wrap(Services.GetRequiredService<ITaskStore>(), $"Data Source={_dbPath}");

    /// <summary>A client whose requests carry <paramref name="userId"/>'s identity, signed as the gateway signs it.</summary>
    public HttpClient ClientFor(string userId, bool admin = false)
    {
        return CreateClient().SignedAs(_identity, userId, admin);
    }

    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        TestEnv.DeleteSqlite(_dbPath);
    }
}

/// <summary>A JSON answer: its status and parsed body.</summary>
public sealed record ApiResponse(HttpStatusCode Status, JsonElement Body, string? ContentType)
{
    public string Error => Body.GetProperty("error").GetString()!;

    /// <summary>The body's field names, to check a shape has exactly the fields it should.</summary>
    public static string[] Fields(JsonElement e) => e.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
}

public static class Http
{
    public static Task<ApiResponse> PostJsonAsync(this HttpClient client, string path, object body) =>
        client.PostRawAsync(path, JsonSerializer.Serialize(body));

    public static async Task<ApiResponse> PostRawAsync(this HttpClient client, string path, string? json, string contentType = "application/json")
    {
        using var content = json is null ? null : new StringContent(json, Encoding.UTF8, contentType);
        using var r = await client.PostAsync(path, content);
        return await ReadAsync(r);
    }

    public static async Task<ApiResponse> GetJsonAsync(this HttpClient client, string path)
    {
        using var r = await client.GetAsync(path);
        return await ReadAsync(r);
    }

    public static async Task<ApiResponse> DeleteJsonAsync(this HttpClient client, string path)
    {
        using var r = await client.DeleteAsync(path);
        return await ReadAsync(r);
    }

    public static async Task<ApiResponse> ReadAsync(HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonElement.Parse(text);
        return new ApiResponse(r.StatusCode, body, r.Content.Headers.ContentType?.MediaType);
    }
}

/// <summary>Moves a task as a worker would: claim it (a lease), then commit events, checkpoints, history and a transition.</summary>
public static class SimulatedWorker
{
    public const string Owner = "test-worker";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task<TaskLease> ClaimAsync(ITaskStore store, string taskId)
    {
        var now = UnixTime.Now();
        var claimed = await store.TryClaimAsync(taskId, Owner, now + 300, now, Ct) ?? throw new InvalidOperationException($"could not claim {taskId}");
        var lease = new TaskLease(claimed.Id, claimed.Attempt, Owner);
        await store.CommitAsync(lease, [Event(EventTypes.TaskStarted, new { conversation_id = claimed.ConversationId, model_key = "local", run_mode = "fast", attempt = claimed.Attempt })],
            checkpoint: (0, """{"step":0}"""), ct: Ct);
        return lease;
    }

    public static async Task CompleteAsync(ITaskStore store, string taskId, string text = "done")
    {
        var lease = await ClaimAsync(store, taskId);
        var result = JsonSerializer.Serialize(new { text, files = Array.Empty<string>(), usage = new { input_tokens = 3, output_tokens = 5 }, iterations = 1, stopped_at_limit = false });
        await store.CommitAsync(lease,
            [Event(EventTypes.TextChunk, new { content = text }), new NewEvent(EventTypes.TaskCompleted, $$"""{"result":{{result}}}""", UnixTime.Now())],
            new TaskTransition.Complete(result), (1, """{"step":1}"""),
            [new HistoryMessage { Role = "user", Content = """{"role":"user","content":"q"}""" }, new HistoryMessage { Role = "assistant", Content = JsonSerializer.Serialize(new { role = "assistant", content = text }) }], ct: Ct);
    }

    public static string InterruptJson(string interruptId) => JsonSerializer.Serialize(new
    {
        interrupt_id = interruptId,
        call_id = "call_1",
        name = "write_file",
        arguments = new { path = "notes.txt", content = "hi" },
        allowed = new[] { "accept", "edit", "reject", "respond" },
    });

    public static async Task<string> InterruptAsync(ITaskStore store, string taskId)
    {
        var lease = await ClaimAsync(store, taskId);
        var interruptId = "int_" + Guid.NewGuid().ToString("N")[..12];
        var json = InterruptJson(interruptId);
        await store.CommitAsync(lease, [new NewEvent(EventTypes.Interrupt, json, UnixTime.Now())], new TaskTransition.Interrupt(interruptId, json), (1, """{"step":1}"""), ct: Ct);
        return interruptId;
    }

    public static async Task FailAsync(ITaskStore store, string taskId, string error)
    {
        var lease = await ClaimAsync(store, taskId);
        await store.CommitAsync(lease, [Event(EventTypes.TaskFailed, new { error })], new TaskTransition.Fail(error), ct: Ct);
    }

    private static NewEvent Event(string type, object data) => new(type, JsonSerializer.Serialize(data), UnixTime.Now());
}

/// <summary>Maps a <c>taskId</c> argument that is a client's id to the internal id before the store sees it.</summary>
public class ClientIdStore : System.Reflection.DispatchProxy
{
    private ITaskStore _inner = null!;
    private string _connectionString = "";

    public static ITaskStore Wrap(ITaskStore inner, string connectionString)
    {
        var proxy = Create<ITaskStore, ClientIdStore>();
        var self = (ClientIdStore)(object)proxy;
        self._inner = inner;
        self._connectionString = connectionString;
        return proxy;
    }

    protected override object? Invoke(System.Reflection.MethodInfo? method, object?[]? args)
    {
        var ps = method!.GetParameters();
        for (var i = 0; i < ps.Length; i++)
        {
            if (ps[i].Name == "taskId" && args![i] is string id) args[i] = Resolve(id);
        }
        return method.Invoke(_inner, args);
    }

    private string Resolve(string id)
    {
        using var conn = new SqliteConnection(_connectionString);
        conn.Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT id FROM tasks WHERE id = $c UNION ALL SELECT id FROM tasks WHERE client_id = $c LIMIT 1";
        cmd.Parameters.AddWithValue("$c", id);
        return cmd.ExecuteScalar() as string ?? id;
    }
}
