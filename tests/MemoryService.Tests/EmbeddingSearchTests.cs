using System.Collections.Concurrent;
using System.Text.Json;
using Agents.Micro.MemoryService.Options;
using Agents.Micro.MemoryService.Search;
using Agents.Micro.MemoryService.Storage;
using Agents.Micro.ServiceDefaults.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Agents.Micro.MemoryService.Tests;

/// <summary>
/// A stand-in for an OpenAI-compatible /embeddings endpoint: vectors over a few hand-made "concepts", so that
/// "cat" and "kitten" are close although they share no word.
/// </summary>
public sealed class StubEmbeddingServer : IAsyncDisposable
{
    private static readonly string[][] Concepts =
    [
        ["cat", "kitten", "猫"],
        ["tea", "oolong", "茶"],
        ["car", "tyre", "vehicle", "汽车"],
    ];

    private readonly WebApplication _app;

    public ConcurrentQueue<string?> AuthorizationHeaders { get; } = new();

    public bool Failing { get; set; }

    private StubEmbeddingServer(WebApplication app) => _app = app;

    public string Endpoint => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/v1";

    public static async Task<StubEmbeddingServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var stub = new StubEmbeddingServer(app);
        app.MapPost("/v1/embeddings", async (HttpContext ctx) =>
        {
            stub.AuthorizationHeaders.Enqueue(ctx.Request.Headers.Authorization.FirstOrDefault());
            if (stub.Failing) return Results.StatusCode(500);
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body);
            var inputs = doc.RootElement.GetProperty("input").EnumerateArray().Select(i => i.GetString()!).ToList();
            return Results.Json(new { data = inputs.Select((text, i) => new { index = i, embedding = Embed(text) }) });
        });
        await app.StartAsync();
        return stub;
    }

    private static float[] Embed(string text)
    {
        var lower = text.ToLowerInvariant();
        var v = new float[Concepts.Length + 1];
        for (var c = 0; c < Concepts.Length; c++)
            if (Concepts[c].Any(lower.Contains)) v[c] = 1;
        v[^1] = 0.2f; // nothing is orthogonal to everything
        return v;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

public sealed class EmbeddingSearchTests : IAsyncLifetime
{
    private readonly string _file = TestDatabases.NewSqliteFile();
    private readonly string _keyEnv = "MEMORY_TEST_KEY_" + Guid.NewGuid().ToString("N")[..8];
    private StubEmbeddingServer _stub = null!;
    private SqlDatabase _db = null!;
    private SqlMemoryStore _store = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _stub = await StubEmbeddingServer.StartAsync();
        Environment.SetEnvironmentVariable(_keyEnv, "sk-test-123");
        var options = Microsoft.Extensions.Options.Options.Create(new MemoryOptions
        {
            Embeddings = new EmbeddingOptions { Endpoint = _stub.Endpoint, Model = "stub", ApiKeyEnv = _keyEnv },
        });
        _db = new SqlDatabase(TestDatabases.Options(SqlDialect.Sqlite, _file));
        _store = new SqlMemoryStore(_db, options, TimeProvider.System,
            new EmbeddingClient(new HttpClient(), options, NullLogger<EmbeddingClient>.Instance));
        await _store.EnsureSchemaAsync(Ct);
    }

    [Fact]
    public async Task Search_WithEmbeddings_FindsAMemoryThatSharesNoWordWithTheQuery()
    {
        var kitten = await _store.SaveAsync("u1", new NewMemory("Adopted a kitten last spring"), Ct);
        await _store.SaveAsync("u1", new NewMemory("The car needs new tyres"), Ct);

        var page = await _store.SearchAsync("u1", "cat", 10, 0, Ct);

        Assert.Equal(kitten.Id, page.Items[0].Memory.Id);
        Assert.Single(page.Items); // the car memory is below the similarity threshold
        Assert.Equal("Bearer sk-test-123", _stub.AuthorizationHeaders.First());
    }

    [Fact]
    public async Task Search_WithEmbeddings_KeepsLexicalMatchesAndRanksTheCloserOneFirst()
    {
        var tea = await _store.SaveAsync("u2", new NewMemory("Drinks oolong every afternoon"), Ct);
        var meeting = await _store.SaveAsync("u2", new NewMemory("Afternoon meetings are on Tuesdays"), Ct);

        var page = await _store.SearchAsync("u2", "afternoon tea", 10, 0, Ct);

        Assert.Equal([tea.Id, meeting.Id], page.Items.Select(i => i.Memory.Id));
    }

    [Fact]
    public async Task EmbeddingsEndpointFailing_WritesAndSearchesFallBackToBm25()
    {
        _stub.Failing = true;
        var saved = await _store.SaveAsync("u3", new NewMemory("Adopted a kitten last spring"), Ct);

        var page = await _store.SearchAsync("u3", "kitten", 10, 0, Ct);

        Assert.Equal(saved.Id, Assert.Single(page.Items).Memory.Id);
    }

    public async ValueTask DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_keyEnv, null);
        await _db.DisposeAsync();
        await _stub.DisposeAsync();
        TestDatabases.DeleteSqliteFile(_file);
    }
}
