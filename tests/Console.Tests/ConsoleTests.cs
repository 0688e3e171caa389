using System.Net.Http.Json;
using System.IO.Compression;
using System.Text;
using Agents.Micro.TestSupport;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Agents.Micro.Console.Tests;

/// <summary>The web console in headless Chromium against the embedded host: what a person does in the browser.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleTests(ConsoleHost host)
{
    static ConsoleTests() => SetDefaultExpectTimeout(20_000);

    [Fact]
    public async Task SignIn_WithToken_ShowsConsole_KeepsItAcrossReload_AndSignOutForgetsIt()
    {
        await using var tab = await host.OpenAsync();
        var page = tab.Page;
        await Expect(page.Locator("#signin")).ToBeVisibleAsync();

        await tab.SignInAsync("not-a-token");
        await Expect(page.Locator("#signin-error")).ToContainTextAsync("rejected");
        await Expect(page.Locator("#app")).ToBeHiddenAsync();

        await tab.SignInAsync();
        await Expect(page.Locator("#app")).ToBeVisibleAsync();
        await Expect(page.Locator(".tabs a.active")).ToHaveTextAsync("Chat");

        await page.ReloadAsync();
        await Expect(page.Locator("#app")).ToBeVisibleAsync();

        await page.Locator("#signout").ClickAsync();
        await Expect(page.Locator("#signin")).ToBeVisibleAsync();
        await page.ReloadAsync();
        await Expect(page.Locator("#signin")).ToBeVisibleAsync();
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task SendMessage_AnswerStreamsIn_AndTheConversationIsListed()
    {
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var page = tab.Page;
        // Record every length the answer had: a streamed answer grows in steps, a non-streamed one appears at once.
        await page.EvaluateAsync("""
            () => {
              window.answerLengths = [];
              new MutationObserver(() => {
                const a = document.querySelector('.turn:last-child .answer');
                if (a && window.answerLengths.at(-1) !== a.textContent.length) window.answerLengths.push(a.textContent.length);
              }).observe(document.getElementById('messages'), { childList: true, subtree: true, characterData: true });
            }
            """);

        var turn = await tab.SendAsync("count to 150");

        await Expect(turn.Locator(".turn-status")).ToHaveTextAsync("completed");
        var answer = await turn.Locator(".answer").InnerTextAsync();
        Assert.Equal(string.Join(' ', Enumerable.Range(1, 150)), answer.Trim().TrimEnd('.'));
        var lengths = await page.EvaluateAsync<int[]>("() => window.answerLengths");
        Assert.True(lengths.Length >= 4, $"the answer should appear chunk by chunk, saw lengths [{string.Join(", ", lengths)}]");

        var conversationId = await page.Locator("#chat-title").InnerTextAsync();
        await Expect(page.Locator($".conversation[title='{conversationId}']")).ToBeVisibleAsync();
        await Expect(page.Locator("#send")).ToBeEnabledAsync();
        await Expect(page.Locator("#cancel-task")).ToBeHiddenAsync();

        await tab.SendAsync("what did I say before?");
        await Expect(page.Locator(".turn").Nth(1).Locator(".turn-status")).ToHaveTextAsync("completed");
        await tab.ScreenshotAsync("chat");

        // Reopening the conversation replays its turns from the event logs.
        await page.ReloadAsync();
        await page.Locator($".conversation[title='{conversationId}']").ClickAsync();
        await Expect(page.Locator(".turn")).ToHaveCountAsync(2);
        await Expect(page.Locator(".turn").First.Locator(".answer")).ToContainTextAsync("149 150");
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task AConversationHeldThroughTheApi_ShowsAllItsTurns_InTheConsole()
    {
        // Turns sent by another client (curl, a program, another browser) are part of the conversation too.
        var sent = await host.Api.PostJsonAsync("/api/v1/messages", new { message = "count to 7" }, 202);
        var conversationId = sent.GetProperty("conversation_id").GetString()!;
        await TaskPolling.PollAsync(host.Api, sent.GetProperty("task_id").GetString()!);
        var second = await host.Api.PostJsonAsync("/api/v1/messages", new { message = "what did I say before?", conversation_id = conversationId }, 202);
        await TaskPolling.PollAsync(host.Api, second.GetProperty("task_id").GetString()!);

        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var page = tab.Page;
        await page.Locator($".conversation[title='{conversationId}']").ClickAsync();
        await Expect(page.Locator(".turn")).ToHaveCountAsync(2);
        await Expect(page.Locator(".turn").First.Locator(".answer")).ToContainTextAsync("1 2 3 4 5 6 7");
        await Expect(page.Locator(".turn").Nth(1).Locator(".answer")).ToContainTextAsync("count to 7");
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task FollowsTheTaskOverServerSentEvents_WhenTheServerOffersThem()
    {
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var page = tab.Page;
        // A stand-in for GET /api/v1/tasks/{id}/events: a text seen only on this stream proves the page followed it.
        var streamUrls = new List<string>();
        await page.RouteAsync("**/api/v1/tasks/*/events?*", route =>
        {
            lock (streamUrls) streamUrls.Add(route.Request.Url);
            var body = new StringBuilder(": keep-alive\n\n");
            void Event(int idx, string type, string data) =>
                body.Append($"id: {idx}\nevent: {type}\ndata: {{\"idx\":{idx},\"type\":\"{type}\",\"data\":{data},\"ts\":1}}\n\n");
            Event(0, "task_started", """{"attempt":1}""");
            Event(1, "text_chunk", """{"content":"streamed "}""");
            Event(2, "text_chunk", """{"content":"over SSE"}""");
            Event(3, "task_completed", """{"result":{"text":"streamed over SSE"}}""");
            return route.FulfillAsync(new RouteFulfillOptions
            {
                Status = 200,
                Headers = new Dictionary<string, string> { ["Content-Type"] = "text/event-stream", ["Cache-Control"] = "no-cache" },
                Body = body.ToString(),
            });
        });
        var polls = new List<string>();
        page.Request += (_, r) =>
        {
            if (r.Url.Contains("/api/v1/tasks/", StringComparison.Ordinal) && !r.Url.Contains("/events", StringComparison.Ordinal))
                lock (polls) polls.Add(r.Url);
        };

        var turn = await tab.SendAsync("hello there");

        await Expect(turn.Locator(".answer")).ToHaveTextAsync("streamed over SSE");
        await Expect(turn.Locator(".turn-status")).ToHaveTextAsync("completed");
        var url = Assert.Single(streamUrls);
        Assert.Contains("from=0", url);
        Assert.Contains("access_token=", url);
        Assert.Empty(polls);
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task SseStreamDropsMidTask_ReconnectsFromTheNextEvent_AndShowsEachEventOnce()
    {
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var page = tab.Page;
        var urls = new List<string>();
        static string Event(int idx, string type, string data) =>
            $"id: {idx}\nevent: {type}\ndata: {{\"idx\":{idx},\"type\":\"{type}\",\"data\":{data},\"ts\":1}}\n\n";
        await page.RouteAsync("**/api/v1/tasks/*/events?*", async route =>
        {
            int n;
            lock (urls) { urls.Add(route.Request.Url); n = urls.Count; }
            // First connection: two events, then the stream ends early. Second: event 1 again (a server may overlap), then the rest.
            var body = n == 1
                ? Event(0, "task_started", "{}") + Event(1, "text_chunk", """{"content":"one "}""")
                : Event(1, "text_chunk", """{"content":"one "}""") + Event(2, "text_chunk", """{"content":"two"}""")
                  + Event(3, "task_completed", """{"result":{"text":"one two"}}""");
            await route.FulfillAsync(new RouteFulfillOptions
            {
                Status = 200,
                Headers = new Dictionary<string, string> { ["Content-Type"] = "text/event-stream" },
                Body = body,
            });
        });

        var turn = await tab.SendAsync("hello again");

        await Expect(turn.Locator(".turn-status")).ToHaveTextAsync("completed");
        await Expect(turn.Locator(".answer")).ToHaveTextAsync("one two");
        Assert.Equal(2, urls.Count);
        Assert.Contains("from=0", urls[0]);
        Assert.Contains("from=2", urls[1]);
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task ThinkingMode_ShowsThinkingFolded_AboveTheAnswer()
    {
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        await tab.Page.Locator("#run-mode").SelectOptionAsync("thinking");

        var turn = await tab.SendAsync("count to 5");
        await Expect(turn.Locator(".turn-status")).ToHaveTextAsync("completed");
        var thinking = turn.Locator("details.thinking");
        await Expect(thinking).ToHaveCountAsync(1);
        await Expect(thinking.Locator(".thinking-text")).ToBeHiddenAsync();
        await thinking.Locator("summary").ClickAsync();
        await Expect(thinking.Locator(".thinking-text")).ToContainTextAsync("think");
        await Expect(turn.Locator(".answer")).ToContainTextAsync("1 2 3 4 5");
        await tab.ScreenshotAsync("chat-thinking");
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task ApproveFileWrite_ThenDownloadTheFileAndItsFolderAsZip()
    {
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var page = tab.Page;
        var dir = "notes" + Guid.NewGuid().ToString("N")[..6];

        var turn = await tab.SendAsync($"write file {dir}/a.txt with hello");
        var card = turn.Locator(".interrupt");
        await Expect(card).ToBeVisibleAsync();
        await Expect(card.Locator(".interrupt-title")).ToContainTextAsync("write_file");
        await Expect(card.Locator(".interrupt-args")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("\"content\": \"hello\""));
        await Expect(turn.Locator(".turn-status")).ToHaveTextAsync("waiting for your decision");
        await tab.ScreenshotAsync("interrupt");

        await card.Locator("button[data-decision=accept]").ClickAsync();
        await Expect(card.Locator(".interrupt-outcome")).ToHaveTextAsync("approved");
        await Expect(turn.Locator(".turn-status")).ToHaveTextAsync("completed");
        await Expect(turn.Locator(".tool.ok .tool-result")).ToContainTextAsync($"wrote {dir}/a.txt");
        await turn.Locator(".tool summary").ClickAsync();
        await Expect(turn.Locator(".tool .tool-args")).ToContainTextAsync("\"content\": \"hello\"");
        await tab.ScreenshotAsync("chat-tool-call");

        await page.Locator(".tabs a[data-view=files]").ClickAsync();
        var folder = page.Locator($"tr[data-path='{dir}']");
        await folder.Locator("button.dir").ClickAsync();
        var file = page.Locator($"tr[data-path='{dir}/a.txt']");
        await Expect(file).ToContainTextAsync("5 B");
        await Expect(page.Locator("#breadcrumbs")).ToContainTextAsync(dir);
        await tab.ScreenshotAsync("files");

        var download = await page.RunAndWaitForDownloadAsync(() => file.Locator("button.download").ClickAsync());
        Assert.Equal("a.txt", download.SuggestedFilename);
        Assert.Equal("hello", await File.ReadAllTextAsync(await download.PathAsync()));

        var zip = await page.RunAndWaitForDownloadAsync(() => page.Locator("#zip-folder").ClickAsync());
        Assert.Equal(dir + ".zip", zip.SuggestedFilename);
        using var archive = ZipFile.OpenRead(await zip.PathAsync());
        var entry = Assert.Single(archive.Entries, e => e.FullName.EndsWith("a.txt", StringComparison.Ordinal));
        using var reader = new StreamReader(entry.Open());
        Assert.Equal("hello", await reader.ReadToEndAsync());
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task EditInterruptArgs_WritesTheEditedContent()
    {
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var path = "edited" + Guid.NewGuid().ToString("N")[..6] + ".txt";

        var turn = await tab.SendAsync($"write file {path} with draft");
        var card = turn.Locator(".interrupt");
        await card.Locator(".interrupt-args").FillAsync($$"""{ "path": "{{path}}", "content": "final text" }""");
        await card.Locator("button[data-decision=edit]").ClickAsync();
        await Expect(card.Locator(".interrupt-outcome")).ToHaveTextAsync("approved with edits");
        await Expect(turn.Locator(".turn-status")).ToHaveTextAsync("completed");

        var body = await host.Api.GetStringAsync("/api/v1/files/download?path=" + path);
        Assert.Equal("final text", body);
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task RejectInterrupt_WritesNothing_AndRespondAnswersInTheToolsPlace()
    {
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var path = "rejected" + Guid.NewGuid().ToString("N")[..6] + ".txt";

        var turn = await tab.SendAsync($"write file {path} with nope");
        await turn.Locator(".interrupt button[data-decision=reject]").ClickAsync();
        await Expect(turn.Locator(".interrupt-outcome")).ToHaveTextAsync("rejected");
        await Expect(turn.Locator(".turn-status")).ToHaveTextAsync("completed");
        using var missing = await host.Api.GetAsync("/api/v1/files/download?path=" + path);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);

        var second = await tab.SendAsync($"write file {path} with again");
        var card = second.Locator(".interrupt");
        await card.Locator(".interrupt-answer").FillAsync("the disk is read-only today");
        await card.Locator("button[data-decision=respond]").ClickAsync();
        await Expect(card.Locator(".interrupt-outcome")).ToHaveTextAsync("answered");
        await Expect(second.Locator(".turn-status")).ToHaveTextAsync("completed");
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task CancelLongAnswer_StopsItAndShowsCancelled()
    {
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var page = tab.Page;

        var turn = await tab.SendAsync("count to 3000");
        await Expect(turn.Locator(".answer")).ToContainTextAsync("1 2 3 4 5");
        await Expect(page.Locator("#send")).ToBeDisabledAsync();
        await Expect(page.Locator("#cancel-task")).ToBeVisibleAsync();
        await page.Locator("#cancel-task").ClickAsync();

        await Expect(turn.Locator(".turn-status")).ToContainTextAsync("cancelled", new() { Timeout = 10_000 });
        var answer = await turn.Locator(".answer").InnerTextAsync();
        Assert.DoesNotContain("3000", answer);
        await Expect(page.Locator("#cancel-task")).ToBeHiddenAsync();
        await Expect(page.Locator("#send")).ToBeEnabledAsync();
        // The text stops growing: the task really stopped, the page did not just stop listening.
        await Task.Delay(1000);
        Assert.Equal(answer, await turn.Locator(".answer").InnerTextAsync());
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task UploadFiles_ShowsThemWithTheirSize_AndDeleteRemovesThem()
    {
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var page = tab.Page;
        await page.Locator(".tabs a[data-view=files]").ClickAsync();
        var name = "upload" + Guid.NewGuid().ToString("N")[..6] + ".bin";
        var content = new byte[3 * 1024 * 1024];
        Random.Shared.NextBytes(content);

        await page.Locator("#upload-input").SetInputFilesAsync(new FilePayload { Name = name, MimeType = "application/octet-stream", Buffer = content });
        await Expect(page.Locator(".upload .upload-state").First).ToHaveTextAsync("done");
        var row = page.Locator($"tr[data-path='{name}']");
        await Expect(row).ToContainTextAsync("3.0 MB");
        var stored = await host.Api.GetByteArrayAsync("/api/v1/files/download?path=" + name);
        Assert.Equal(content, stored);

        page.Dialog += (_, d) => d.AcceptAsync();
        await row.Locator("button.delete").ClickAsync();
        await Expect(row).ToHaveCountAsync(0);
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task ToolsTab_ListsBuiltinAndMcpTools_AndTheServerThatIsDown_AndAnMcpCallShowsLikeABuiltinOne()
    {
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var page = tab.Page;

        await page.Locator(".tabs a[data-view=tools]").ClickAsync();
        var echo = page.Locator("#tool-list tr[data-tool='everything__echo']");
        await Expect(echo).ToContainTextAsync("mcp:everything");
        await Expect(echo).ToContainTextAsync("runs directly");
        await Expect(page.Locator("#tool-list tr[data-tool='write_file']")).ToContainTextAsync("asks first");
        await Expect(page.Locator("#tools-down li[data-server='down']")).ToContainTextAsync("unavailable");
        await tab.ScreenshotAsync("tools");

        await page.Locator(".tabs a[data-view=chat]").ClickAsync();
        var turn = await tab.SendAsync("call tool everything__echo with message=\"from the console\"");
        await Expect(turn.Locator(".tool.ok .tool-name")).ToHaveTextAsync("everything__echo");
        await Expect(turn.Locator(".tool.ok .tool-result")).ToContainTextAsync("Echo: from the console");
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task UsageTab_ShowsThisMonthsTokens_ByDayAndModel_AndTheBudget()
    {
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var page = tab.Page;
        var turn = await tab.SendAsync("hello usage");
        await Expect(turn.Locator(".turn-status")).ToContainTextAsync("completed", new() { Timeout = 20_000 });

        await page.Locator(".tabs a[data-view=usage]").ClickAsync();
        var usage = await host.Api.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/usage");
        var total = usage.GetProperty("totals").GetProperty("total_tokens").GetInt64();
        Assert.True(total > 0);
        await Expect(page.Locator("#usage-summary")).ToContainTextAsync($"This month: {total.ToString("N0", System.Globalization.CultureInfo.GetCultureInfo("en-US"))} tokens");
        await Expect(page.Locator($"#usage-days tr[data-day='{DateTime.UtcNow:yyyy-MM-dd}']")).ToBeVisibleAsync();
        await Expect(page.Locator("#usage-models tr")).Not.ToHaveCountAsync(0);
        await Expect(page.Locator("#usage-budget")).ToContainTextAsync("of 100,000,000 tokens");
        await tab.ScreenshotAsync("usage");
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task WebhooksTab_AddsAWebhook_ShowsItsSecretOnce_AndItsDeliveryLogSendsAgain()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var page = tab.Page;
        await page.Locator(".tabs a[data-view=webhooks]").ClickAsync();
        await page.Locator("#webhook-url").FillAsync(receiver.Url);
        await page.Locator("#webhook-add button[type=submit]").ClickAsync();
        await Expect(page.Locator("#webhook-secret")).ToBeVisibleAsync();
        receiver.Secret = (await page.Locator("#webhook-secret-value").InnerTextAsync()).Trim();
        Assert.StartsWith("whsec_", receiver.Secret);
        var row = page.Locator("#webhook-list tr", new() { HasText = receiver.Url });
        await Expect(row).ToHaveCountAsync(1);
        var webhookId = await row.GetAttributeAsync("data-webhook");

        try
        {
            await page.Locator(".tabs a[data-view=chat]").ClickAsync();
            var turn = await tab.SendAsync("hello webhook");
            await Expect(turn.Locator(".turn-status")).ToContainTextAsync("completed", new() { Timeout = 20_000 });
            var first = (await receiver.WaitForAsync(1))[0];
            Assert.True(first.Verified, first.VerifyError);

            await page.Locator(".tabs a[data-view=webhooks]").ClickAsync();
            await Expect(page.Locator($"#webhook-list tr[data-webhook='{webhookId}']")).ToBeVisibleAsync();
            await Expect(page.Locator("#webhook-secret")).ToBeHiddenAsync(); // never shown again
            await page.Locator($"#webhook-list tr[data-webhook='{webhookId}'] button", new() { HasText = "Deliveries" }).ClickAsync();
            var delivery = page.Locator("#delivery-list tr").First;
            await Expect(delivery.Locator(".status")).ToHaveTextAsync("delivered");
            await delivery.Locator("button", new() { HasText = "Send again" }).ClickAsync();
            var again = await receiver.WaitForAsync(2);
            Assert.Equal(again[0].Id, again[1].Id);
            await tab.ScreenshotAsync("webhooks");
            Assert.Empty(tab.Problems);
        }
        finally
        {
            await host.Api.DeleteAsync($"/api/v1/webhooks/{webhookId}");
        }
    }

    [Fact]
    public async Task MemoryList_SearchFindsAMemory_AndDeleteRemovesIt()
    {
        var marker = "kumquat" + Guid.NewGuid().ToString("N")[..6];
        await host.AddMemoryAsync($"I like oolong tea with {marker}");
        await host.AddMemoryAsync("My cat is called Miso");
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var page = tab.Page;

        await page.Locator(".tabs a[data-view=memory]").ClickAsync();
        await Expect(page.Locator(".memory-item", new() { HasText = "Miso" })).ToBeVisibleAsync();
        await page.Locator("#memory-query").FillAsync(marker);
        await page.Locator("#memory-search button").ClickAsync();
        var item = page.Locator(".memory-item");
        await Expect(item).ToHaveCountAsync(1);
        await Expect(item).ToContainTextAsync("oolong tea");
        await Expect(item.Locator(".memory-meta")).ToContainTextAsync("score");
        await tab.ScreenshotAsync("memory");

        await item.Locator("button.danger").ClickAsync();
        await Expect(item).ToHaveCountAsync(0);
        await page.Locator("#memory-search button").ClickAsync();
        await Expect(page.Locator("#memory-summary")).ToHaveTextAsync("No memory matches.");
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task NarrowScreen_ChatFitsTheWidth_AndTheConversationListFolds()
    {
        await using var tab = await host.OpenAsync(width: 390, height: 760);
        await tab.SignedInAsync();
        var page = tab.Page;

        var turn = await tab.SendAsync("write file narrow/a.txt with a rather long line of text that must wrap on a phone screen instead of scrolling sideways");
        await Expect(turn.Locator(".interrupt")).ToBeVisibleAsync();
        await Expect(page.Locator("#conversations")).ToBeHiddenAsync();
        await page.Locator("#toggle-sidebar").ClickAsync();
        await Expect(page.Locator("#conversations")).ToBeVisibleAsync();
        await page.Locator("#toggle-sidebar").ClickAsync();
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.True(overflow <= 0, $"the page scrolls sideways by {overflow}px on a narrow screen");
        await tab.ScreenshotAsync("chat-narrow");
        await turn.Locator(".interrupt button[data-decision=reject]").ClickAsync();
        await Expect(turn.Locator(".turn-status")).ToHaveTextAsync("completed");
        Assert.Empty(tab.Problems);
    }

    [Fact]
    public async Task Download_SavesTheServersFileName_EvenWhenItLooksLikeHeaderParameters()
    {
        var dir = "tricky" + Guid.NewGuid().ToString("N")[..6];
        const string name = "a\";b=c; filename*=UTF-8''evil.exe; x=\".txt";
        using (var form = new MultipartFormDataContent
        {
            { new ByteArrayContent("tricky"u8.ToArray()), "file", "upload.txt" },
            { new StringContent(dir), "dir" },
            { new StringContent(name), "filename" },
        })
        {
            using var up = await host.Api.PostAsync("/api/v1/files/upload", form);
            Assert.True(up.IsSuccessStatusCode, await up.Content.ReadAsStringAsync());
        }
        await using var tab = await host.OpenAsync();
        await tab.SignedInAsync();
        var page = tab.Page;
        await page.Locator(".tabs a[data-view=files]").ClickAsync();
        await page.Locator($"tr[data-path='{dir}'] button.dir").ClickAsync();
        var row = page.Locator("#file-list tr").Filter(new() { HasText = "evil.exe" });
        var download = await page.RunAndWaitForDownloadAsync(() => row.Locator("button.download").ClickAsync());

        // The browser may replace characters a file system cannot take, but the name stays the file's own: it ends in
        // .txt, never the evil.exe a header parser would have picked out of it.
        Assert.NotEqual("evil.exe", download.SuggestedFilename);
        Assert.EndsWith(".txt", download.SuggestedFilename, StringComparison.Ordinal);
        Assert.StartsWith("a", download.SuggestedFilename, StringComparison.Ordinal);
        Assert.Equal("tricky", await File.ReadAllTextAsync(await download.PathAsync()));
    }

    [Fact]
    public async Task AMessageWaitingForAFreeWorker_SaysSo_ThenRuns()
    {
        // Fill this user's running slots (Worker:MaxRunningPerUser, default 8) with long answers.
        var flood = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            using var r = await host.Api.PostAsJsonAsync("/api/v1/messages", new { message = "count to 100000" });
            Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
            flood.Add(System.Text.Json.JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("task_id").GetString()!);
        }
        try
        {
            foreach (var id in flood) await TaskPolling.PollAsync(host.Api, id, t => t.Types.Contains("task_started"));
            await using var tab = await host.OpenAsync();
            await tab.SignedInAsync();
            var turn = await tab.SendAsync("hello while busy");
            await Expect(turn.Locator(".turn-status")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^waiting for a free worker \\(1 in the queue\\)$"));
            await tab.ScreenshotAsync("chat-queued");

            foreach (var id in flood) await host.Api.PostAsync($"/api/v1/tasks/{id}/cancel", null);
            await Expect(turn.Locator(".turn-status")).ToHaveTextAsync("completed", new() { Timeout = 30_000 });
            Assert.Empty(tab.Problems);
        }
        finally
        {
            foreach (var id in flood) await host.Api.PostAsync($"/api/v1/tasks/{id}/cancel", null);
        }
    }
}
