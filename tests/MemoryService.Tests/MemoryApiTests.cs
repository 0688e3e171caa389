using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Agents.Micro.ServiceDefaults.Security;

namespace Agents.Micro.MemoryService.Tests;

public sealed class MemoryApiTests(MemoryServiceFactory factory) : IClassFixture<MemoryServiceFactory>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewUser() => "u_" + Guid.NewGuid().ToString("N")[..12];

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> ReadJson(HttpResponseMessage response) =>
        JsonElement.Parse(await response.Content.ReadAsStringAsync(Ct));

    private static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, string? contains = null)
    {
        Assert.Equal(status, response.StatusCode);
        var body = await ReadJson(response);
        Assert.False(body.GetProperty("success").GetBoolean());
        var error = body.GetProperty("error").GetString();
        Assert.False(string.IsNullOrWhiteSpace(error));
        if (contains is not null) Assert.Contains(contains, error);
    }

    private async Task<string> Create(HttpClient client, string content)
    {
        var r = await client.PostAsync("/api/v1/memories", Json(JsonSerializer.Serialize(new { content })), Ct);
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        return (await ReadJson(r)).GetProperty("id").GetString()!;
    }

    // ---- POST /agent/write/longterm ----

    [Fact]
    public async Task WriteLongTerm_ForOwnUser_ReturnsTheSpecShape()
    {
        var user = NewUser();
        var client = factory.ClientFor(user);

        var r = await client.PostAsync("/agent/write/longterm", Json($$"""{"user_id":"{{user}}","memory_info":"我喜欢喝乌龙茶"}"""), Ct);

        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = await ReadJson(r);
        Assert.Equal("success", body.GetProperty("status").GetString());
        Assert.Equal("记忆存储成功", body.GetProperty("message").GetString());
        var id = body.GetProperty("memory_id").GetString()!;
        var found = await ReadJson(await client.GetAsync("/api/v1/memories?q=" + Uri.EscapeDataString("乌龙茶"), Ct));
        Assert.Equal(id, found.GetProperty("items")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task WriteLongTerm_SameContentTwice_ReturnsTheSameId()
    {
        var user = NewUser();
        var client = factory.ClientFor(user);
        var body = $$"""{"user_id":"{{user}}","memory_info":"Prefers window seats"}""";

        var first = await ReadJson(await client.PostAsync("/agent/write/longterm", Json(body), Ct));
        var second = await ReadJson(await client.PostAsync("/agent/write/longterm", Json(body), Ct));

        Assert.Equal(first.GetProperty("memory_id").GetString(), second.GetProperty("memory_id").GetString());
    }

    [Fact]
    public async Task WriteLongTerm_ForAnotherUser_Returns403()
    {
        var r = await factory.ClientFor(NewUser()).PostAsync("/agent/write/longterm", Json("""{"user_id":"someone-else","memory_info":"x"}"""), Ct);
        await AssertError(r, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task WriteLongTerm_ByAdminForAnotherUser_StoresItForThatUser()
    {
        var target = NewUser();
        var r = await factory.ClientFor("admin-" + NewUser(), admin: true)
            .PostAsync("/agent/write/longterm", Json($$"""{"user_id":"{{target}}","memory_info":"Works night shifts"}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var id = (await ReadJson(r)).GetProperty("memory_id").GetString();

        var got = await factory.ClientFor(target).GetAsync($"/api/v1/memories/{id}", Ct);
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
    }

    [Theory]
    [InlineData("""{"user_id":"U","memory_info":"x","extra":1}""", "unknown field 'extra'")]
    [InlineData("""{"user_id":"U","memory_info":5}""", "'memory_info' must be a string")]
    [InlineData("""{"user_id":"U","memory_info":"   "}""", "'memory_info' must not be empty")]
    [InlineData("""{"user_id":"U"}""", "'memory_info' is required")]
    [InlineData("""{"memory_info":"x"}""", "'user_id' is required")]
    [InlineData("""[1,2]""", "JSON object")]
    [InlineData("""{"user_id":"U","memory_info":""", "malformed JSON")]
    public async Task WriteLongTerm_InvalidBody_Returns400(string template, string error)
    {
        var user = NewUser();
        var r = await factory.ClientFor(user).PostAsync("/agent/write/longterm", Json(template.Replace("\"U\"", $"\"{user}\"")), Ct);
        await AssertError(r, HttpStatusCode.BadRequest, error);
    }

    [Fact]
    public async Task WriteLongTerm_OversizedContent_Returns400()
    {
        var user = NewUser();
        var body = JsonSerializer.Serialize(new { user_id = user, memory_info = new string('x', 201) });
        await AssertError(await factory.ClientFor(user).PostAsync("/agent/write/longterm", Json(body), Ct), HttpStatusCode.BadRequest, "longer than 200");
    }

    [Fact]
    public async Task WriteLongTerm_NotJson_Returns415()
    {
        var r = await factory.ClientFor(NewUser()).PostAsync("/agent/write/longterm", new StringContent("user_id=x", Encoding.UTF8, "text/plain"), Ct);
        await AssertError(r, HttpStatusCode.UnsupportedMediaType);
    }

    // ---- identity ----

    [Theory]
    [InlineData("GET", "/api/v1/memories")]
    [InlineData("GET", "/api/v1/memories?q=tea")]
    [InlineData("POST", "/api/v1/memories")]
    [InlineData("GET", "/api/v1/memories/mem_x")]
    [InlineData("DELETE", "/api/v1/memories/mem_x")]
    [InlineData("POST", "/agent/write/longterm")]
    public async Task Request_WithoutSignedIdentity_Returns401(string method, string path)
    {
        var client = factory.ClientFor(null);
        client.DefaultRequestHeaders.Add("X-User-Id", "alice"); // a bare user header proves nothing
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST") request.Content = Json("""{"content":"x","user_id":"alice","memory_info":"x"}""");
        await AssertError(await client.SendAsync(request, Ct), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Request_WithIdentitySignedByAnotherKey_Returns401()
    {
        var forged = new InternalIdentity(new string('k', 40)).Sign(new CallerIdentity("alice", true), TimeSpan.FromMinutes(5));
        var client = factory.ClientFor(null);
        client.DefaultRequestHeaders.Add(InternalIdentity.HeaderName, forged);
        await AssertError(await client.GetAsync("/api/v1/memories", Ct), HttpStatusCode.Unauthorized);
    }

    // ---- /api/v1/memories ----

    [Fact]
    public async Task CreateMemory_Returns201WithId_AndDuplicateReturns200WithTheSameId()
    {
        var client = factory.ClientFor(NewUser());

        var r = await client.PostAsync("/api/v1/memories", Json("""{"content":"Birthday is 3 March","tags":["personal"," dates "]}"""), Ct);
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var created = await ReadJson(r);
        Assert.True(created.GetProperty("success").GetBoolean());
        Assert.False(created.GetProperty("duplicate").GetBoolean());
        var id = created.GetProperty("id").GetString()!;
        Assert.StartsWith("mem_", id);
        Assert.Equal($"/api/v1/memories/{id}", r.Headers.Location?.OriginalString);

        var dup = await client.PostAsync("/api/v1/memories", Json("""{"content":" Birthday is 3 March "}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, dup.StatusCode);
        var dupBody = await ReadJson(dup);
        Assert.True(dupBody.GetProperty("duplicate").GetBoolean());
        Assert.Equal(id, dupBody.GetProperty("id").GetString());

        var got = await ReadJson(await client.GetAsync($"/api/v1/memories/{id}", Ct));
        Assert.True(got.GetProperty("success").GetBoolean());
        var memory = got.GetProperty("memory");
        Assert.Equal(id, memory.GetProperty("id").GetString());
        Assert.Equal("Birthday is 3 March", memory.GetProperty("content").GetString());
        Assert.Equal(["personal", "dates"], memory.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.True(memory.GetProperty("created_at").GetDouble() > 1_600_000_000);
    }

    [Theory]
    [InlineData("""{"content":""}""", "'content' must not be empty")]
    [InlineData("""{"content":"x","tags":"a"}""", "'tags' must be an array of strings")]
    [InlineData("""{"content":"x","tags":[1]}""", "'tags' must be an array of strings")]
    [InlineData("""{"content":"x","tags":[null]}""", "'tags' must be an array of strings")]
    [InlineData("""{"content":"x","tags":[""]}""", "empty")]
    [InlineData("""{"content":"x","color":"red"}""", "unknown field 'color'")]
    [InlineData("""{"content":"x","content":"y"}""", "duplicate field 'content'")]
    [InlineData("""{"tags":["a"]}""", "'content' is required")]
    public async Task CreateMemory_InvalidBody_Returns400(string body, string error)
    {
        await AssertError(await factory.ClientFor(NewUser()).PostAsync("/api/v1/memories", Json(body), Ct), HttpStatusCode.BadRequest, error);
    }

    [Fact]
    public async Task CreateMemory_OversizedContent_Returns400AndStoresNothing()
    {
        var client = factory.ClientFor(NewUser());
        var body = JsonSerializer.Serialize(new { content = new string('长', 201) });
        await AssertError(await client.PostAsync("/api/v1/memories", Json(body), Ct), HttpStatusCode.BadRequest, "longer than 200");
        var list = await ReadJson(await client.GetAsync("/api/v1/memories", Ct));
        Assert.Equal(0, list.GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task ListMemories_WithoutQuery_NewestFirstWithPaging()
    {
        var client = factory.ClientFor(NewUser());
        var a = await Create(client, "first note");
        var b = await Create(client, "second note");
        var c = await Create(client, "third note");

        var page = await ReadJson(await client.GetAsync("/api/v1/memories?limit=2", Ct));
        Assert.True(page.GetProperty("success").GetBoolean());
        Assert.Equal(3, page.GetProperty("total").GetInt64());
        Assert.Equal(2, page.GetProperty("limit").GetInt32());
        Assert.Equal(0, page.GetProperty("offset").GetInt32());
        var items = page.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal([c, b], items.Select(i => i.GetProperty("id").GetString()));
        Assert.False(items[0].TryGetProperty("score", out _));
        Assert.Equal("third note", items[0].GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Array, items[0].GetProperty("tags").ValueKind);

        var next = await ReadJson(await client.GetAsync("/api/v1/memories?limit=2&offset=2", Ct));
        Assert.Equal([a], next.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()));

        var defaults = await ReadJson(await client.GetAsync("/api/v1/memories", Ct));
        Assert.Equal(20, defaults.GetProperty("limit").GetInt32());
    }

    [Fact]
    public async Task ListMemories_WithQuery_ReturnsRankedResultsWithScores()
    {
        var client = factory.ClientFor(NewUser());
        await Create(client, "用户在上海工作");
        var best = await Create(client, "用户喜欢上海菜，尤其是上海的小笼包");
        await Create(client, "The user owns a red bicycle");

        var page = await ReadJson(await client.GetAsync("/api/v1/memories?q=" + Uri.EscapeDataString("上海 小笼包"), Ct));

        var items = page.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, items.Count);
        Assert.Equal(2, page.GetProperty("total").GetInt64());
        Assert.Equal(best, items[0].GetProperty("id").GetString());
        Assert.True(items[0].GetProperty("score").GetDouble() > items[1].GetProperty("score").GetDouble());
    }

    [Theory]
    [InlineData("limit=0", "'limit'")]
    [InlineData("limit=101", "'limit'")]
    [InlineData("limit=abc", "'limit'")]
    [InlineData("limit=-1", "'limit'")]
    [InlineData("offset=-1", "'offset'")]
    [InlineData("offset=x", "'offset'")]
    public async Task ListMemories_InvalidPaging_Returns400(string query, string error)
    {
        await AssertError(await factory.ClientFor(NewUser()).GetAsync("/api/v1/memories?" + query, Ct), HttpStatusCode.BadRequest, error);
    }

    [Theory]
    [InlineData("/api/v1/memories?offset=2147483647&limit=100")]
    [InlineData("/api/v1/memories?q=note&offset=2147483647&limit=100")]
    public async Task ListMemories_OffsetBeyondTheEnd_ReturnsAnEmptyPage(string url)
    {
        var client = factory.ClientFor(NewUser());
        await Create(client, "a note");

        var r = await client.GetAsync(url, Ct);

        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var page = await ReadJson(r);
        Assert.Empty(page.GetProperty("items").EnumerateArray());
        Assert.Equal(1, page.GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task ListMemories_OverlongQuery_Returns400()
    {
        await AssertError(await factory.ClientFor(NewUser()).GetAsync("/api/v1/memories?q=" + new string('a', 1001), Ct), HttpStatusCode.BadRequest, "'q'");
    }

    [Fact]
    public async Task GetMemory_UnknownId_Returns404()
    {
        await AssertError(await factory.ClientFor(NewUser()).GetAsync("/api/v1/memories/mem_doesnotexist", Ct), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AnotherUsersMemory_Returns404OnGetAndDelete_AndStaysHidden()
    {
        var owner = factory.ClientFor(NewUser());
        var intruder = factory.ClientFor(NewUser());
        var id = await Create(owner, "Safe combination is 12-34-56");

        await AssertError(await intruder.GetAsync($"/api/v1/memories/{id}", Ct), HttpStatusCode.NotFound);
        await AssertError(await intruder.DeleteAsync($"/api/v1/memories/{id}", Ct), HttpStatusCode.NotFound);
        var search = await ReadJson(await intruder.GetAsync("/api/v1/memories?q=combination", Ct));
        Assert.Empty(search.GetProperty("items").EnumerateArray());

        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"/api/v1/memories/{id}", Ct)).StatusCode);
    }

    [Fact]
    public async Task DeleteMemory_Own_Returns200ThenTheMemoryIsGone()
    {
        var client = factory.ClientFor(NewUser());
        var id = await Create(client, "Temporary note about parking");

        var r = await client.DeleteAsync($"/api/v1/memories/{id}", Ct);

        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = await ReadJson(r);
        Assert.True(body.GetProperty("success").GetBoolean());
        Assert.Equal(id, body.GetProperty("id").GetString());
        await AssertError(await client.GetAsync($"/api/v1/memories/{id}", Ct), HttpStatusCode.NotFound);
        await AssertError(await client.DeleteAsync($"/api/v1/memories/{id}", Ct), HttpStatusCode.NotFound);
        var search = await ReadJson(await client.GetAsync("/api/v1/memories?q=parking", Ct));
        Assert.Empty(search.GetProperty("items").EnumerateArray());
    }
}
