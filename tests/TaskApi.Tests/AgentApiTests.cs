using System.Net;
using System.Text.Json;
using Agents.Micro.Contracts;
using Agents.Micro.Storage.Tasks;
using Agents.Micro.TaskApi.Endpoints;
using MassTransit.Testing;
using TaskStatus = Agents.Micro.Storage.Tasks.TaskStatus;

namespace Agents.Micro.TaskApi.Tests;

/// <summary>The agent-service API (spec/agent-service-api.md), endpoint by endpoint, and across both APIs.</summary>
public sealed class AgentApiTests(TaskApiFactory api) : IClassFixture<TaskApiFactory>
{
    private const string DefaultSystemMessage = "你会使用工具来帮助用户。如果工具使用被拒绝, 请提示用户。";
    private static readonly string[] IdFields = ["session_id", "task_id", "user_id"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ITaskStore Store => api.Store;

    // Timestamps have millisecond resolution: steps whose order a test asserts are kept apart.
    private static Task TickAsync() => Task.Delay(15, Ct);

    private static object InvokeBody(string user, string session, string task, string query = "hello") =>
        new { user_id = user, session_id = session, task_id = task, query };

    /// <summary>A user with one session holding one running task, created through /agent/invoke.</summary>
    private async Task<(string User, string Session, string Task, HttpClient Client)> InvokedAsync(string? user = null)
    {
        user ??= TaskApiFactory.NewId("u");
        var session = TaskApiFactory.NewId("s");
        var task = TaskApiFactory.NewId("t");
        var client = api.ClientFor(user);
        var r = await client.PostJsonAsync("/agent/invoke", InvokeBody(user, session, task));
        Assert.Equal(HttpStatusCode.OK, r.Status);
        return (user, session, task, client);
    }

    private static void AssertError(ApiResponse r, HttpStatusCode status, string? contains = null)
    {
        Assert.Equal(status, r.Status);
        Assert.Equal(["error", "success"], ApiResponse.Fields(r.Body));
        Assert.False(r.Body.GetProperty("success").GetBoolean());
        Assert.False(string.IsNullOrWhiteSpace(r.Error));
        if (contains is not null) Assert.Contains(contains, r.Error);
    }

    // ---- POST /agent/invoke ----

    [Fact]
    public async Task Invoke_NewSession_Returns200WithIdsCreatesSessionAndSendsRunTask()
    {
        var user = TaskApiFactory.NewId("u");
        var session = TaskApiFactory.NewId("s");
        var task = TaskApiFactory.NewId("t");

        var r = await api.ClientFor(user).PostJsonAsync("/agent/invoke", InvokeBody(user, session, task, "写一首诗"));

        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(IdFields, ApiResponse.Fields(r.Body));
        Assert.Equal(user, r.Body.GetProperty("user_id").GetString());
        Assert.Equal(session, r.Body.GetProperty("session_id").GetString());
        Assert.Equal(task, r.Body.GetProperty("task_id").GetString());

        Assert.NotNull(await Store.GetConversationAsync(user, session, Ct));
        var row = await Store.GetTaskAsync(task, Ct);
        Assert.NotNull(row);
        Assert.Equal((user, session, TaskStatus.Running, "写一首诗"), (row.UserId, row.ConversationId, row.Status, row.Query));
        var options = TaskOptions.FromJson(row.Options);
        Assert.Equal(DefaultSystemMessage, options.SystemMessage);
        Assert.Equal("agent", options.Api);
        var internalId = (await Store.GetTaskAsync(task, Ct))!.Id;
        Assert.True(await api.Harness.Sent.Any<RunTask>(m => m.Context.Message.TaskId == internalId && m.Context.Message.UserId == user, Ct));
    }

    [Fact]
    public async Task Invoke_WithSystemMessageAndRunOptions_StoresThemForTheWorker()
    {
        var user = TaskApiFactory.NewId("u");
        var task = TaskApiFactory.NewId("t");
        var r = await api.ClientFor(user).PostJsonAsync("/agent/invoke", new
        {
            user_id = user, session_id = "s1", task_id = task, query = "q", system_message = "be brief",
            model_key = "local", run_mode = "thinking", thinking_mode = true, max_iterations = 7,
        });

        Assert.Equal(HttpStatusCode.OK, r.Status);
        var options = TaskOptions.FromJson((await Store.GetTaskAsync(task, Ct))!.Options);
        Assert.Equal(("be brief", "local", "thinking", true, 7), (options.SystemMessage, options.ModelKey, options.RunMode, options.ThinkingMode, options.MaxIterations));
    }

    [Theory]
    [InlineData("""{"user_id":"{u}","session_id":"s","task_id":"{t}","query":""}""", "'query' must not be empty")]
    [InlineData("""{"user_id":"{u}","session_id":"s","task_id":"{t}","query":"   "}""", "'query' must not be empty")]
    [InlineData("""{"user_id":"{u}","session_id":"s","task_id":"{t}"}""", "'query' is required")]
    [InlineData("""{"user_id":"{u}","session_id":"s","task_id":"{t}","query":7}""", "'query' must be a string")]
    [InlineData("""{"session_id":"s","task_id":"{t}","query":"q"}""", "'user_id' is required")]
    [InlineData("""{"user_id":"{u}","task_id":"{t}","query":"q"}""", "'session_id' is required")]
    [InlineData("""{"user_id":"{u}","session_id":"s","query":"q"}""", "'task_id' is required")]
    [InlineData("""{"user_id":"{u}","session_id":"a/b","task_id":"{t}","query":"q"}""", "'session_id' must not contain")]
    [InlineData("""{"user_id":"{u}","session_id":" ","task_id":"{t}","query":"q"}""", "'session_id' must not be empty")]
    [InlineData("""{"user_id":"{u}","session_id":"s","task_id":"{t}","query":"q","colour":"red"}""", "unknown field 'colour'")]
    [InlineData("""{"user_id":"{u}","session_id":"s","task_id":"{t}","query":"q","run_mode":"turbo"}""", "'run_mode' must be one of")]
    [InlineData("""{"user_id":"{u}","session_id":"s","task_id":"{t}","query":"q","max_iterations":0}""", "'max_iterations' must be between 1 and 50")]
    [InlineData("""{"user_id":"{u}","session_id":"s","task_id":"{t}","query":"q","model_key":"nope"}""", "unknown model_key 'nope'")]
    [InlineData("""{"user_id":"{u}","session_id":"s","task_id":"{t}","query":"q","system_message":5}""", "'system_message' must be a string")]
    [InlineData("""["not","an","object"]""", "must be a JSON object")]
    [InlineData("""{"user_id":""", "malformed JSON")]
    public async Task Invoke_InvalidBody_Returns400AndCreatesNothing(string template, string expected)
    {
        var user = TaskApiFactory.NewId("u");
        var task = TaskApiFactory.NewId("t");
        var r = await api.ClientFor(user).PostRawAsync("/agent/invoke", template.Replace("{u}", user).Replace("{t}", task));

        AssertError(r, HttpStatusCode.BadRequest, expected);
        Assert.Null(await Store.GetTaskAsync(task, Ct));
        Assert.Empty(await Store.ListConversationsAsync(user, Ct));
    }

    [Fact]
    public async Task Invoke_WithoutBodyOrWithWrongContentType_Returns400Or415()
    {
        var client = api.ClientFor("u-ct");
        AssertError(await client.PostRawAsync("/agent/invoke", null), HttpStatusCode.BadRequest, "request body is required");
        AssertError(await client.PostRawAsync("/agent/invoke", """{"query":"q"}""", "text/plain"), HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task Invoke_WithoutIdentity_Returns401()
    {
        var r = await api.CreateClient().PostJsonAsync("/agent/invoke", InvokeBody("u", "s", "t"));
        AssertError(r, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Invoke_TaskIdAlreadyUsed_Returns409AndDoesNotStartASecondRun()
    {
        var (user, session, task, client) = await InvokedAsync();
        await SimulatedWorker.CompleteAsync(Store, task);

        var sameSession = await client.PostJsonAsync("/agent/invoke", InvokeBody(user, session, task, "again"));
        var otherSession = await client.PostJsonAsync("/agent/invoke", InvokeBody(user, "another-session", task, "again"));

        AssertError(sameSession, HttpStatusCode.Conflict, $"task_id '{task}' already exists");
        AssertError(otherSession, HttpStatusCode.Conflict, $"task_id '{task}' already exists");
        var row = await Store.GetTaskAsync(task, Ct);
        Assert.Equal((TaskStatus.Completed, "hello"), (row!.Status, row.Query));
        // The refused invoke must not leave its would-be session behind.
        Assert.Null(await Store.GetConversationAsync(user, "another-session", Ct));
    }

    [Fact]
    public async Task Invoke_SessionWithRunningOrInterruptedTask_Returns409_ThenAcceptsOnceItEnded()
    {
        var (user, session, first, client) = await InvokedAsync();

        AssertError(await client.PostJsonAsync("/agent/invoke", InvokeBody(user, session, TaskApiFactory.NewId("t"))), HttpStatusCode.Conflict, "already has a running or interrupted task");
        await SimulatedWorker.InterruptAsync(Store, first);
        AssertError(await client.PostJsonAsync("/agent/invoke", InvokeBody(user, session, TaskApiFactory.NewId("t"))), HttpStatusCode.Conflict, "already has a running or interrupted task");

        await client.PostJsonAsync($"/api/v1/tasks/{first}/cancel", new { });
        await TickAsync();
        var next = TaskApiFactory.NewId("t");
        var r = await client.PostJsonAsync("/agent/invoke", InvokeBody(user, session, next));
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal([first, next], (await Store.ListTasksAsync(user, session, Ct)).Select(t => t.PublicId));
    }

    [Fact]
    public async Task Invoke_ForAnotherUser_NonAdminGets403_AdminCreatesTheTaskForThatUser()
    {
        var owner = TaskApiFactory.NewId("u");
        var task = TaskApiFactory.NewId("t");

        var denied = await api.ClientFor("mallory").PostJsonAsync("/agent/invoke", InvokeBody(owner, "s", task));
        AssertError(denied, HttpStatusCode.Forbidden, $"user_id '{owner}' is not the caller's user");
        Assert.Null(await Store.GetTaskAsync(task, Ct));

        var admin = await api.ClientFor("root", admin: true).PostJsonAsync("/agent/invoke", InvokeBody(owner, "s", task));
        Assert.Equal(HttpStatusCode.OK, admin.Status);
        Assert.Equal(owner, admin.Body.GetProperty("user_id").GetString());
        Assert.Equal(owner, (await Store.GetTaskAsync(task, Ct))!.UserId);
        Assert.Empty(await Store.ListConversationsAsync("root", Ct));
        // The owner sees it as theirs through v1.
        Assert.Equal(HttpStatusCode.OK, (await api.ClientFor(owner).GetJsonAsync($"/api/v1/tasks/{task}")).Status);
    }

    // ---- POST /agent/resume ----

    private static object ResumeBody(string user, string session, string task, string type, object? args = null) =>
        args is null
            ? new { user_id = user, session_id = session, task_id = task, response_type = type }
            : new { user_id = user, session_id = session, task_id = task, response_type = type, args };

    [Fact]
    public async Task Resume_InterruptedTask_Returns200WithIdsRecordsTheDecisionAndSendsResumeTask()
    {
        var (user, session, task, client) = await InvokedAsync();
        var interruptId = await SimulatedWorker.InterruptAsync(Store, task);

        var r = await client.PostJsonAsync("/agent/resume", ResumeBody(user, session, task, "edit", new { path = "other.txt", content = "x" }));

        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(IdFields, ApiResponse.Fields(r.Body));
        Assert.Equal((user, session, task), (r.Body.GetProperty("user_id").GetString(), r.Body.GetProperty("session_id").GetString(), r.Body.GetProperty("task_id").GetString()));
        var row = await Store.GetTaskAsync(task, Ct);
        Assert.Equal(TaskStatus.Running, row!.Status);
        var decision = ResumeDecision.FromJson(row.Resume)!;
        Assert.Equal((interruptId, ResumeDecision.Edit, "other.txt"), (decision.InterruptId, decision.Type, decision.EditedArgs!["path"]!.GetValue<string>()));
        var internalId = (await Store.GetTaskAsync(task, Ct))!.Id;
        Assert.True(await api.Harness.Sent.Any<ResumeTask>(m => m.Context.Message.TaskId == internalId && m.Context.Message.InterruptId == interruptId && m.Context.Message.ResponseType == "edit", Ct));
    }

    [Theory]
    [InlineData("maybe", null, "unknown response_type 'maybe'")]
    [InlineData("edit", null, "edit needs 'args'")]
    [InlineData("respond", null, "respond needs 'args'")]
    public async Task Resume_UnknownResponseTypeOrBadArgs_Returns400AndTheTaskStaysInterrupted(string type, string? args, string expected)
    {
        var (user, session, task, client) = await InvokedAsync();
        await SimulatedWorker.InterruptAsync(Store, task);

        var r = await client.PostJsonAsync("/agent/resume", ResumeBody(user, session, task, type, args));

        AssertError(r, HttpStatusCode.BadRequest, expected);
        var row = await Store.GetTaskAsync(task, Ct);
        Assert.Equal(TaskStatus.Interrupted, row!.Status);
        Assert.Null(row.Resume);
    }

    [Fact]
    public async Task Resume_MalformedBody_Returns400()
    {
        var (user, session, task, client) = await InvokedAsync();
        AssertError(await client.PostJsonAsync("/agent/resume", new { user_id = user, session_id = session, task_id = task }), HttpStatusCode.BadRequest, "'response_type' is required");
        AssertError(await client.PostJsonAsync("/agent/resume", new { user_id = user, session_id = session, task_id = task, response_type = "accept", args = "yes" }), HttpStatusCode.BadRequest, "'args' must be an object");
        AssertError(await client.PostJsonAsync("/agent/resume", new { user_id = user, session_id = session, task_id = task, response_type = "accept", extra = 1 }), HttpStatusCode.BadRequest, "unknown field 'extra'");
    }

    [Fact]
    public async Task Resume_TaskNotInterrupted_Returns409()
    {
        var (user, session, task, client) = await InvokedAsync();
        AssertError(await client.PostJsonAsync("/agent/resume", ResumeBody(user, session, task, "accept")), HttpStatusCode.Conflict, "not interrupted");
        await SimulatedWorker.CompleteAsync(Store, task);
        AssertError(await client.PostJsonAsync("/agent/resume", ResumeBody(user, session, task, "accept")), HttpStatusCode.Conflict, "is completed, not interrupted");
    }

    [Fact]
    public async Task Resume_UnknownTaskOrWrongSession_Returns404_AnotherUsersId_Returns403()
    {
        var (user, session, task, client) = await InvokedAsync();
        await SimulatedWorker.InterruptAsync(Store, task);

        AssertError(await client.PostJsonAsync("/agent/resume", ResumeBody(user, session, "no-such-task", "accept")), HttpStatusCode.NotFound);
        AssertError(await client.PostJsonAsync("/agent/resume", ResumeBody(user, "other-session", task, "accept")), HttpStatusCode.NotFound);
        AssertError(await api.ClientFor("mallory").PostJsonAsync("/agent/resume", ResumeBody(user, session, task, "accept")), HttpStatusCode.Forbidden);
        Assert.Equal(TaskStatus.Interrupted, (await Store.GetTaskAsync(task, Ct))!.Status);
    }

    [Fact]
    public async Task Resume_TwentyConcurrentCalls_ExactlyOneWinsTheRestGet409()
    {
        var (user, session, task, client) = await InvokedAsync();
        await SimulatedWorker.InterruptAsync(Store, task);

        var calls = Enumerable.Range(0, 20).Select(i => client.PostJsonAsync("/agent/resume",
            ResumeBody(user, session, task, i % 2 == 0 ? "accept" : "reject")));
        var results = await Task.WhenAll(calls);

        Assert.Single(results, r => r.Status == HttpStatusCode.OK);
        Assert.Equal(19, results.Count(r => r.Status == HttpStatusCode.Conflict));
        var events = await Store.ReadEventsAsync(task, 0, 100, Ct);
        Assert.Single(events, e => e.Type == EventTypes.Resumed);
    }

    // ---- GET /system/info ----

    [Fact]
    public async Task SystemInfo_NonAdmin_Returns403()
    {
        AssertError(await api.ClientFor("plain-user").GetJsonAsync("/system/info"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task SystemInfo_Admin_ReturnsSessionCountAndUsersWithActiveTasks()
    {
        var admin = api.ClientFor("root", admin: true);
        var before = await admin.GetJsonAsync("/system/info");
        Assert.Equal(HttpStatusCode.OK, before.Status);
        Assert.Equal(["active_users", "sessions_count"], ApiResponse.Fields(before.Body));

        var (busy, _, _, _) = await InvokedAsync();
        var (done, _, doneTask, _) = await InvokedAsync();
        await SimulatedWorker.CompleteAsync(Store, doneTask);

        var after = await admin.GetJsonAsync("/system/info");
        Assert.Equal(before.Body.GetProperty("sessions_count").GetInt64() + 2, after.Body.GetProperty("sessions_count").GetInt64());
        Assert.Equal(await Store.CountConversationsAsync(Ct), after.Body.GetProperty("sessions_count").GetInt64());
        var users = after.Body.GetProperty("active_users").EnumerateArray().Select(u => u.GetString()).ToList();
        Assert.Contains(busy, users);
        Assert.DoesNotContain(done, users);
    }

    // ---- GET /agent/active/sessionid, /agent/sessionids, /agent/tasks ----

    [Fact]
    public async Task ActiveSession_ReturnsTheMostRecentlyModifiedSession()
    {
        var (user, first, firstTask, client) = await InvokedAsync();
        await SimulatedWorker.CompleteAsync(Store, firstTask);
        await TickAsync();
        var second = TaskApiFactory.NewId("s");
        await client.PostJsonAsync("/agent/invoke", InvokeBody(user, second, TaskApiFactory.NewId("t")));

        var r = await client.GetJsonAsync($"/agent/active/sessionid/{user}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(["active_session_id"], ApiResponse.Fields(r.Body));
        Assert.Equal(second, r.Body.GetProperty("active_session_id").GetString());

        // A new task in the first session makes it the most recently modified again.
        await TickAsync();
        await client.PostJsonAsync("/agent/invoke", InvokeBody(user, first, TaskApiFactory.NewId("t")));
        Assert.Equal(first, (await client.GetJsonAsync($"/agent/active/sessionid/{user}")).Body.GetProperty("active_session_id").GetString());
    }

    [Fact]
    public async Task ActiveSession_UserWithoutSessions_Returns404WithClearError()
    {
        var user = TaskApiFactory.NewId("u");
        AssertError(await api.ClientFor(user).GetJsonAsync($"/agent/active/sessionid/{user}"), HttpStatusCode.NotFound, "has no sessions");
    }

    [Fact]
    public async Task ReadEndpoints_AnotherUsersId_Return403ForNonAdmin_AndAnswerForAdmin()
    {
        var (user, session, task, _) = await InvokedAsync();
        var mallory = api.ClientFor("mallory");
        var admin = api.ClientFor("root", admin: true);
        string[] paths = [$"/agent/active/sessionid/{user}", $"/agent/sessionids/{user}", $"/agent/tasks/{user}/{session}", $"/agent/status/{user}/{session}/{task}"];
        foreach (var path in paths)
        {
            AssertError(await mallory.GetJsonAsync(path), HttpStatusCode.Forbidden, "not the caller's user");
            Assert.Equal(HttpStatusCode.OK, (await admin.GetJsonAsync(path)).Status);
        }
        AssertError(await mallory.DeleteJsonAsync($"/agent/session/{user}/{session}/{task}"), HttpStatusCode.Forbidden);
        AssertError(await mallory.DeleteJsonAsync($"/agent/session/{user}/{session}"), HttpStatusCode.Forbidden);
        Assert.NotNull(await Store.GetTaskAsync(task, Ct));
    }

    [Fact]
    public async Task SessionIds_ListsAllOfTheUsersSessions_EmptyForANewUser()
    {
        var (user, first, _, client) = await InvokedAsync();
        await TickAsync();
        var second = TaskApiFactory.NewId("s");
        await client.PostJsonAsync("/agent/invoke", InvokeBody(user, second, TaskApiFactory.NewId("t")));
        var (_, othersSession, _, _) = await InvokedAsync();

        var r = await client.GetJsonAsync($"/agent/sessionids/{user}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(["session_ids"], ApiResponse.Fields(r.Body));
        var ids = r.Body.GetProperty("session_ids").EnumerateArray().Select(x => x.GetString()).ToList();
        Assert.Equal([second, first], ids);
        Assert.DoesNotContain(othersSession, ids);

        var fresh = TaskApiFactory.NewId("u");
        var empty = await api.ClientFor(fresh).GetJsonAsync($"/agent/sessionids/{fresh}");
        Assert.Equal(HttpStatusCode.OK, empty.Status);
        Assert.Equal(0, empty.Body.GetProperty("session_ids").GetArrayLength());
    }

    [Fact]
    public async Task Tasks_ReturnsIdsAndStatusesOldestFirst_404ForUnknownSession()
    {
        var (user, session, first, client) = await InvokedAsync();
        await SimulatedWorker.CompleteAsync(Store, first);
        await TickAsync();
        var second = TaskApiFactory.NewId("t");
        await client.PostJsonAsync("/agent/invoke", InvokeBody(user, session, second));

        var r = await client.GetJsonAsync($"/agent/tasks/{user}/{session}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(["task_ids", "tasks"], ApiResponse.Fields(r.Body));
        Assert.Equal([first, second], r.Body.GetProperty("task_ids").EnumerateArray().Select(x => x.GetString()));
        var tasks = r.Body.GetProperty("tasks").EnumerateArray().ToList();
        Assert.All(tasks, t => Assert.Equal(["status", "task_id"], ApiResponse.Fields(t)));
        Assert.Equal([(first, "completed"), (second, "running")], tasks.Select(t => (t.GetProperty("task_id").GetString(), t.GetProperty("status").GetString())));

        AssertError(await client.GetJsonAsync($"/agent/tasks/{user}/no-such-session"), HttpStatusCode.NotFound, "session 'no-such-session'");
    }

    // ---- GET /agent/status ----

    private static readonly string[] StatusFields = ["last_query", "last_response", "last_updated", "message", "queue_position", "session_id", "status", "task_id", "user_id"];
    private static readonly string[] AgentResponseFields = ["interrupt_data", "message", "result", "session_id", "status", "task_id", "timestamp"];

    private async Task<JsonElement> StatusAsync(HttpClient client, string user, string session, string task)
    {
        var r = await client.GetJsonAsync($"/agent/status/{user}/{session}/{task}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(StatusFields, ApiResponse.Fields(r.Body));
        Assert.Equal(user, r.Body.GetProperty("user_id").GetString());
        Assert.Equal(session, r.Body.GetProperty("session_id").GetString());
        Assert.Equal(task, r.Body.GetProperty("task_id").GetString());
        var last = r.Body.GetProperty("last_response");
        if (last.ValueKind != JsonValueKind.Null)
        {
            Assert.Equal(AgentResponseFields, ApiResponse.Fields(last));
            Assert.Equal(session, last.GetProperty("session_id").GetString());
            Assert.Equal(task, last.GetProperty("task_id").GetString());
            Assert.Equal(r.Body.GetProperty("status").GetString(), last.GetProperty("status").GetString());
            Assert.Equal(r.Body.GetProperty("last_updated").GetDouble(), last.GetProperty("timestamp").GetDouble());
        }
        return r.Body;
    }

    [Fact]
    public async Task Status_Running_HasQueryAndTimeButNoLastResponse()
    {
        var (user, session, task, client) = await InvokedAsync();
        var s = await StatusAsync(client, user, session, task);

        Assert.Equal("running", s.GetProperty("status").GetString());
        Assert.Equal("hello", s.GetProperty("last_query").GetString());
        Assert.Equal((await Store.GetTaskAsync(task, Ct))!.UpdatedAt, s.GetProperty("last_updated").GetDouble());
        Assert.Equal(JsonValueKind.Null, s.GetProperty("message").ValueKind);
        Assert.Equal(JsonValueKind.Null, s.GetProperty("last_response").ValueKind);
    }

    [Fact]
    public async Task Status_Interrupted_CarriesTheInterruptData()
    {
        var (user, session, task, client) = await InvokedAsync();
        var interruptId = await SimulatedWorker.InterruptAsync(Store, task);
        var s = await StatusAsync(client, user, session, task);

        Assert.Equal("interrupted", s.GetProperty("status").GetString());
        var last = s.GetProperty("last_response");
        var data = last.GetProperty("interrupt_data");
        Assert.Equal(interruptId, data.GetProperty("interrupt_id").GetString());
        Assert.Equal("write_file", data.GetProperty("name").GetString());
        Assert.Equal("notes.txt", data.GetProperty("arguments").GetProperty("path").GetString());
        Assert.Equal(JsonValueKind.Null, last.GetProperty("result").ValueKind);
        Assert.Equal(JsonValueKind.Null, last.GetProperty("message").ValueKind);
    }

    [Fact]
    public async Task Status_Completed_CarriesTheResult()
    {
        var (user, session, task, client) = await InvokedAsync();
        await SimulatedWorker.CompleteAsync(Store, task, "the answer");
        var s = await StatusAsync(client, user, session, task);

        Assert.Equal("completed", s.GetProperty("status").GetString());
        var last = s.GetProperty("last_response");
        Assert.Equal("the answer", last.GetProperty("result").GetProperty("text").GetString());
        Assert.Equal(5, last.GetProperty("result").GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(JsonValueKind.Null, last.GetProperty("interrupt_data").ValueKind);
    }

    [Fact]
    public async Task Status_Error_CarriesTheMessage()
    {
        var (user, session, task, client) = await InvokedAsync();
        await SimulatedWorker.FailAsync(Store, task, "model provider unreachable");
        var s = await StatusAsync(client, user, session, task);

        Assert.Equal("error", s.GetProperty("status").GetString());
        Assert.Equal("model provider unreachable", s.GetProperty("message").GetString());
        Assert.Equal("model provider unreachable", s.GetProperty("last_response").GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.Null, s.GetProperty("last_response").GetProperty("result").ValueKind);
    }

    [Fact]
    public async Task Status_Cancelled_SaysWhy()
    {
        var (user, session, task, client) = await InvokedAsync();
        await client.PostJsonAsync($"/api/v1/tasks/{task}/cancel", new { });
        var s = await StatusAsync(client, user, session, task);

        Assert.Equal("cancelled", s.GetProperty("status").GetString());
        Assert.Equal("task cancelled: cancelled by user", s.GetProperty("message").GetString());
        Assert.Equal("cancelled", s.GetProperty("last_response").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Status_UnknownSessionOrTask_Is200NotFound_ASessionWithoutTasksIsIdle()
    {
        var (user, session, task, client) = await InvokedAsync();

        var noSession = await StatusAsync(client, user, "no-such-session", task);
        Assert.Equal("not_found", noSession.GetProperty("status").GetString());
        Assert.Contains("session 'no-such-session'", noSession.GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.Null, noSession.GetProperty("last_response").ValueKind);

        var noTask = await StatusAsync(client, user, session, "no-such-task");
        Assert.Equal("not_found", noTask.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, noTask.GetProperty("last_query").ValueKind);

        // Another user's task is not found, never shown.
        var (other, _, othersTask, _) = await InvokedAsync();
        Assert.Equal("not_found", (await StatusAsync(client, user, session, othersTask)).GetProperty("status").GetString());
        Assert.NotEqual(user, other);

        // A v1 conversation with nothing sent yet is an idle session.
        var created = await client.PostJsonAsync("/api/v1/conversations", new { });
        var conversation = created.Body.GetProperty("conversation_id").GetString()!;
        var idle = await StatusAsync(client, user, conversation, "any-task");
        Assert.Equal("idle", idle.GetProperty("status").GetString());
        Assert.Equal((await Store.GetConversationAsync(user, conversation, Ct))!.UpdatedAt, idle.GetProperty("last_updated").GetDouble());
    }

    [Fact]
    public async Task Status_InvalidId_Returns400()
    {
        var user = TaskApiFactory.NewId("u");
        var tooLong = new string('x', 129);
        AssertError(await api.ClientFor(user).GetJsonAsync($"/agent/status/{user}/{tooLong}/t"), HttpStatusCode.BadRequest, "'session_id' is longer than 128");
    }

    // ---- DELETE /agent/session ----

    [Fact]
    public async Task DeleteSession_WithRunningTask_CancelsItThenRemovesEverything_OtherUsersUntouched()
    {
        var (user, session, done, client) = await InvokedAsync();
        await SimulatedWorker.CompleteAsync(Store, done);
        var running = TaskApiFactory.NewId("t");
        await client.PostJsonAsync("/agent/invoke", InvokeBody(user, session, running));
        await SimulatedWorker.ClaimAsync(Store, running); // a worker holds it: the cancel must reach that worker
        // Another user with a session of the same id, and the same user's other session.
        var other = TaskApiFactory.NewId("u");
        var othersTask = TaskApiFactory.NewId("t");
        Assert.Equal(HttpStatusCode.OK, (await api.ClientFor(other).PostJsonAsync("/agent/invoke", InvokeBody(other, session, othersTask))).Status);
        await SimulatedWorker.CompleteAsync(Store, othersTask);
        var keptSession = TaskApiFactory.NewId("s");
        var keptTask = TaskApiFactory.NewId("t");
        await client.PostJsonAsync("/agent/invoke", InvokeBody(user, keptSession, keptTask));

        var runningInternal = (await Store.GetTaskAsync(running, Ct))!.Id;
        var doneInternal = (await Store.GetTaskAsync(done, Ct))!.Id;
        var r = await client.DeleteJsonAsync($"/agent/session/{user}/{session}");

        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(["message", "status"], ApiResponse.Fields(r.Body));
        Assert.Equal("success", r.Body.GetProperty("status").GetString());
        Assert.Equal($"用户 {user}:{session} 的会话已删除", r.Body.GetProperty("message").GetString());
        Assert.True(await api.Harness.Published.Any<CancelTask>(m => m.Context.Message.TaskId == runningInternal, Ct));
        Assert.False(await api.Harness.Published.Any<CancelTask>(m => m.Context.Message.TaskId == doneInternal, Ct));

        Assert.Null(await Store.GetConversationAsync(user, session, Ct));
        // By the internal ids: the client ids no longer resolve once the rows are gone.
        foreach (var t in new[] { doneInternal, runningInternal })
        {
            Assert.Null(await Store.GetTaskAsync(t, Ct));
            Assert.Empty(await Store.ReadEventsAsync(t, 0, 100, Ct));
            Assert.Null(await Store.LoadCheckpointAsync(t, Ct));
        }
        Assert.Empty(await Store.LoadHistoryAsync(user, session, 100, Ct));
        Assert.Empty(await Store.ListTasksAsync(user, session, Ct));

        Assert.NotNull(await Store.GetConversationAsync(other, session, Ct));
        Assert.Equal(TaskStatus.Completed, (await Store.GetTaskAsync(othersTask, Ct))!.Status);
        Assert.NotEmpty(await Store.ReadEventsAsync(othersTask, 0, 100, Ct));
        Assert.NotNull(await Store.LoadCheckpointAsync(othersTask, Ct));
        Assert.Equal(2, (await Store.LoadHistoryAsync(other, session, 100, Ct)).Count);
        Assert.NotNull(await Store.GetTaskAsync(keptTask, Ct));

        AssertError(await client.DeleteJsonAsync($"/agent/session/{user}/{session}"), HttpStatusCode.NotFound, $"session '{session}'");
        Assert.Equal("not_found", (await StatusAsync(client, user, session, running)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task DeleteSession_Admin_MayDeleteAnotherUsersSession()
    {
        var (user, session, task, _) = await InvokedAsync();
        var r = await api.ClientFor("root", admin: true).DeleteJsonAsync($"/agent/session/{user}/{session}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Null(await Store.GetTaskAsync(task, Ct));
        Assert.Null(await Store.GetConversationAsync(user, session, Ct));
    }

    [Fact]
    public async Task DeleteTask_CancelsARunningTaskThenRemovesIt_KeepsTheSessionAndItsOtherTasks()
    {
        var (user, session, first, client) = await InvokedAsync();
        await SimulatedWorker.CompleteAsync(Store, first);
        var second = TaskApiFactory.NewId("t");
        await client.PostJsonAsync("/agent/invoke", InvokeBody(user, session, second));
        await SimulatedWorker.ClaimAsync(Store, second);

        var secondInternal = (await Store.GetTaskAsync(second, Ct))!.Id;
        var r = await client.DeleteJsonAsync($"/agent/session/{user}/{session}/{second}");

        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(["message", "status"], ApiResponse.Fields(r.Body));
        Assert.Equal("success", r.Body.GetProperty("status").GetString());
        Assert.Equal($"用户 {user}:{session}:{second} 的任务已删除", r.Body.GetProperty("message").GetString());
        Assert.True(await api.Harness.Published.Any<CancelTask>(m => m.Context.Message.TaskId == secondInternal, Ct));
        Assert.Null(await Store.GetTaskAsync(secondInternal, Ct));
        Assert.Empty(await Store.ReadEventsAsync(secondInternal, 0, 100, Ct));
        Assert.Null(await Store.LoadCheckpointAsync(secondInternal, Ct));

        Assert.NotNull(await Store.GetConversationAsync(user, session, Ct));
        Assert.Equal(TaskStatus.Completed, (await Store.GetTaskAsync(first, Ct))!.Status);
        Assert.Equal(2, (await Store.LoadHistoryAsync(user, session, 100, Ct)).Count);

        // The session is free again: its only active task is gone.
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/agent/invoke", InvokeBody(user, session, TaskApiFactory.NewId("t")))).Status);
    }

    [Fact]
    public async Task DeleteTask_UnknownOrInAnotherSession_Returns404()
    {
        var (user, session, task, client) = await InvokedAsync();
        AssertError(await client.DeleteJsonAsync($"/agent/session/{user}/{session}/no-such-task"), HttpStatusCode.NotFound);
        AssertError(await client.DeleteJsonAsync($"/agent/session/{user}/other-session/{task}"), HttpStatusCode.NotFound);
        Assert.NotNull(await Store.GetTaskAsync(task, Ct));
    }

    // ---- one data model, two APIs ----

    [Fact]
    public async Task CrossApi_InvokeThenPollThroughV1()
    {
        var (user, session, task, client) = await InvokedAsync();

        var running = await client.GetJsonAsync($"/api/v1/tasks/{task}");
        Assert.Equal(HttpStatusCode.OK, running.Status);
        Assert.Equal("running", running.Body.GetProperty("data").GetProperty("status").GetString());

        await SimulatedWorker.CompleteAsync(Store, task, "from the worker");
        var done = await client.GetJsonAsync($"/api/v1/tasks/{task}");
        var data = done.Body.GetProperty("data");
        Assert.Equal("completed", data.GetProperty("status").GetString());
        var types = data.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal(["task_started", "text_chunk", "task_completed"], types);

        // The session is a v1 conversation of the same user.
        var conversations = await client.GetJsonAsync("/api/v1/conversations");
        Assert.Contains(session, conversations.Body.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("conversation_id").GetString()));
        await TickAsync();
        // …and v1 can continue it: the follow-up lands in the same session, listed by the agent API.
        var followUp = await client.PostJsonAsync("/api/v1/messages", new { message = "and then?", conversation_id = session });
        Assert.Equal(HttpStatusCode.Accepted, followUp.Status);
        Assert.Equal(session, followUp.Body.GetProperty("conversation_id").GetString());
        var listed = await client.GetJsonAsync($"/agent/tasks/{user}/{session}");
        Assert.Equal([task, followUp.Body.GetProperty("task_id").GetString()], listed.Body.GetProperty("task_ids").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public async Task CrossApi_SendThroughV1ThenReadAgentStatus_AndResumeAcrossApis()
    {
        var user = TaskApiFactory.NewId("u");
        var client = api.ClientFor(user);
        var sent = await client.PostJsonAsync("/api/v1/messages", new { message = "v1 question" });
        Assert.Equal(HttpStatusCode.Accepted, sent.Status);
        var task = sent.Body.GetProperty("task_id").GetString()!;
        var conversation = sent.Body.GetProperty("conversation_id").GetString()!;

        var s = await StatusAsync(client, user, conversation, task);
        Assert.Equal("running", s.GetProperty("status").GetString());
        Assert.Equal("v1 question", s.GetProperty("last_query").GetString());
        Assert.Equal([conversation], (await client.GetJsonAsync($"/agent/sessionids/{user}")).Body.GetProperty("session_ids").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(conversation, (await client.GetJsonAsync($"/agent/active/sessionid/{user}")).Body.GetProperty("active_session_id").GetString());

        // Interrupted in v1's task, resumed through the agent API, then visible as running again in v1.
        await SimulatedWorker.InterruptAsync(Store, task);
        Assert.Equal("interrupted", (await StatusAsync(client, user, conversation, task)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/agent/resume", ResumeBody(user, conversation, task, "approve"))).Status);
        Assert.Equal("running", (await client.GetJsonAsync($"/api/v1/tasks/{task}")).Body.GetProperty("data").GetProperty("status").GetString());

        // A follow-up through the agent API into the v1 conversation is refused while v1's task is active (one rule).
        AssertError(await client.PostJsonAsync("/agent/invoke", InvokeBody(user, conversation, TaskApiFactory.NewId("t"))), HttpStatusCode.Conflict);
    }

    // ---- OpenAPI ----

    [Fact]
    public async Task OpenApiDocument_DescribesBothApisWithTheSpecsFieldNames()
    {
        var r = await api.CreateClient().GetJsonAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        var paths = r.Body.GetProperty("paths");
        foreach (var p in new[] { "/agent/invoke", "/agent/resume", "/system/info", "/agent/active/sessionid/{user_id}", "/agent/sessionids/{user_id}",
                     "/agent/tasks/{user_id}/{session_id}", "/agent/status/{user_id}/{session_id}/{task_id}", "/agent/session/{user_id}/{session_id}",
                     "/agent/session/{user_id}/{session_id}/{task_id}", "/api/v1/messages", "/api/v1/conversations", "/api/v1/tasks/{task_id}" })
        {
            Assert.True(paths.TryGetProperty(p, out _), $"missing path {p}");
        }
        var schemas = r.Body.GetProperty("components").GetProperty("schemas");
        string[] Props(string schema) => ApiResponse.Fields(schemas.GetProperty(schema).GetProperty("properties"));
        Assert.Equal(["if_busy", "max_iterations", "model_key", "query", "run_mode", "session_id", "system_message", "task_id", "thinking_mode", "user_id", "webhook_url"], Props(nameof(AgentRequest)));
        Assert.Equal(["args", "response_type", "session_id", "task_id", "user_id"], Props(nameof(InterruptResponse)));
        // The request records' limits come from the same annotations the server enforces; required members are not nullable.
        var invokeSchema = schemas.GetProperty(nameof(AgentRequest));
        Assert.Contains("user_id", invokeSchema.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("string", invokeSchema.GetProperty("properties").GetProperty("query").GetProperty("type").GetString());
        Assert.Equal(100_000, invokeSchema.GetProperty("properties").GetProperty("query").GetProperty("maxLength").GetInt32());
        Assert.Equal(50, invokeSchema.GetProperty("properties").GetProperty("max_iterations").GetProperty("maximum").GetInt32());
        // Query parameters: the bounds and defaults the handler reads them with.
        var pollParams = paths.GetProperty("/api/v1/tasks/{task_id}").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("schema"));
        Assert.Equal(["from", "limit", "task_id", "wait"], pollParams.Keys.Order());
        Assert.Equal((1, TaskEndpoints.MaxEventsPerPoll, TaskEndpoints.MaxEventsPerPoll),
            (pollParams["limit"].GetProperty("minimum").GetInt32(), pollParams["limit"].GetProperty("maximum").GetInt32(), pollParams["limit"].GetProperty("default").GetInt32()));
        Assert.Equal("integer", pollParams["from"].GetProperty("type").GetString());
        Assert.Equal(StatusFields, Props(nameof(SessionStatusResponse)));
        Assert.Equal(AgentResponseFields, Props(nameof(AgentResponse)));
        Assert.Equal(["active_users", "sessions_count"], Props(nameof(SystemInfoResponse)));
        Assert.Equal(["task_ids", "tasks"], Props(nameof(TaskInfoResponse)));
        Assert.Equal(["session_ids"], Props(nameof(SessionInfoResponse)));
        Assert.Equal(["active_session_id"], Props(nameof(ActiveSessionInfoResponse)));
        Assert.Equal(DefaultSystemMessage, schemas.GetProperty(nameof(AgentRequest)).GetProperty("properties").GetProperty("system_message").GetProperty("default").GetString());
        // The v1 models carry the v1 spec's field names.
        var spec = OpenApiSchemaValidator.Load(Path.Combine(AppContext.BaseDirectory, "spec", "agents-api-v1.openapi.yaml"));
        foreach (var (served, inSpec) in new[] { ("SendMessageRequest", "SendMessageRequest"), ("SendMessageResponse", "SendMessageResponse"),
                     ("CreateConversationResponse", "CreateConversationResponse"), ("ErrorResponse", "ErrorResponse"), ("TaskEventDto", "TaskEvent") })
        {
            // The additions to a spec shape: a send may name a webhook and say what to do if busy (documented in the served document).
            Assert.Equal(spec.PropertiesOf(inSpec).Concat(served == "SendMessageRequest" ? ["webhook_url", "if_busy"] : []).Order(), Props(served).Order());
        }
        Assert.Equal(["data", "success"], Props(nameof(TaskPollResponse)));
        Assert.Equal(["created_at", "error", "events", "next_offset", "queue_position", "status", "task_id", "updated_at"], Props(nameof(TaskPollData)));
        Assert.Equal("#/components/schemas/SendMessageRequest", paths.GetProperty("/api/v1/messages").GetProperty("post").GetProperty("requestBody")
            .GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        // Numbers are documented as numbers (not "number or string").
        Assert.Equal(["null", "number"], schemas.GetProperty(nameof(SessionStatusResponse)).GetProperty("properties").GetProperty("last_updated")
            .GetProperty("type").EnumerateArray().Select(x => x.GetString()));

        var invoke = paths.GetProperty("/agent/invoke").GetProperty("post");
        Assert.Equal("AgentInvoke", invoke.GetProperty("operationId").GetString());
        Assert.True(invoke.GetProperty("responses").TryGetProperty("409", out _));
    }
}
