using Agents.Micro.MemoryService.Options;
using Agents.Micro.MemoryService.Storage;

namespace Agents.Micro.MemoryService.Tests;

/// <summary>The store's behaviour, run once on PostgreSQL and once on SQLite (see the two classes at the end).</summary>
public abstract class MemoryStoreTests(StoreFixture fixture)
{
    private IMemoryStore Store => fixture.Store;

    private static string NewUser() => "u_" + Guid.NewGuid().ToString("N")[..12];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Search_EnglishWords_FindsTheMemory()
    {
        var user = NewUser();
        var saved = await Store.SaveAsync(user, new NewMemory("My favourite programming language is Rust"), Ct);
        await Store.SaveAsync(user, new NewMemory("The dentist appointment is on Friday"), Ct);

        var page = await Store.SearchAsync(user, "which programming languages", 10, 0, Ct);

        var hit = Assert.Single(page.Items);
        Assert.Equal(saved.Id, hit.Memory.Id);
        Assert.True(hit.Score > 0);
        Assert.Equal(1, page.Total);
    }

    [Fact]
    public async Task Search_ChineseWithoutSpaces_FindsTheMemoryBySubstring()
    {
        var user = NewUser();
        var tea = await Store.SaveAsync(user, new NewMemory("我喜欢喝乌龙茶"), Ct);
        await Store.SaveAsync(user, new NewMemory("明天下午三点开会"), Ct);

        var page = await Store.SearchAsync(user, "乌龙茶", 10, 0, Ct);

        Assert.Equal(tea.Id, Assert.Single(page.Items).Memory.Id);
    }

    [Fact]
    public async Task Search_SingleChineseCharacter_FindsTheMemory()
    {
        var user = NewUser();
        var tea = await Store.SaveAsync(user, new NewMemory("我喜欢喝乌龙茶"), Ct);
        await Store.SaveAsync(user, new NewMemory("明天下午三点开会"), Ct);

        var page = await Store.SearchAsync(user, "茶", 10, 0, Ct);

        Assert.Equal(tea.Id, Assert.Single(page.Items).Memory.Id);
    }

    [Fact]
    public async Task Search_MixedChineseAndEnglish_FindsBoth()
    {
        var user = NewUser();
        var a = await Store.SaveAsync(user, new NewMemory("用户的邮箱是 alice@example.com"), Ct);
        var b = await Store.SaveAsync(user, new NewMemory("Alice prefers 深色模式 in every editor"), Ct);

        var email = await Store.SearchAsync(user, "邮箱", 10, 0, Ct);
        var dark = await Store.SearchAsync(user, "深色", 10, 0, Ct);
        var alice = await Store.SearchAsync(user, "ALICE", 10, 0, Ct);

        Assert.Equal(a.Id, Assert.Single(email.Items).Memory.Id);
        Assert.Equal(b.Id, Assert.Single(dark.Items).Memory.Id);
        Assert.Equal(2, alice.Items.Count);
    }

    [Fact]
    public async Task Search_FixedCorpus_RanksTheMoreRelevantMemoryFirst()
    {
        var user = NewUser();
        var corpus = new[]
        {
            "The user drinks coffee every morning before work",
            "The user likes oolong tea, especially oolong tea from Taiwan",
            "The user visited a tea museum once",
            "The user's cat is called Miso",
            "Green tea gives the user a headache",
            "用户每天早上喝咖啡",
            "用户最喜欢的茶是乌龙茶，尤其是台湾乌龙茶",
            "用户去过一次茶叶博物馆",
        };
        var ids = new List<string>();
        foreach (var c in corpus) ids.Add((await Store.SaveAsync(user, new NewMemory(c), Ct)).Id);

        var english = await Store.SearchAsync(user, "oolong tea", 10, 0, Ct);
        var chinese = await Store.SearchAsync(user, "乌龙茶", 10, 0, Ct);

        Assert.Equal(ids[1], english.Items[0].Memory.Id);
        Assert.Equal(3, english.Items.Count); // the three memories that mention tea or oolong
        Assert.True(english.Items[0].Score > english.Items[1].Score);
        Assert.Equal(ids[6], chinese.Items[0].Memory.Id);
        Assert.DoesNotContain(english.Items, i => i.Memory.Id == ids[0] || i.Memory.Id == ids[3]);
    }

    [Fact]
    public async Task Search_CommonTerms_StillAddToTheScoreOfMemoriesFoundByRareTerms()
    {
        // With a tiny cut-off "user" is a common term: it finds nothing by itself but still ranks.
        var store = fixture.CreateStore(new MemoryOptions { Search = new SearchOptions { CommonTermMinDocs = 1, CommonTermRatio = 0.3 } });
        var user = NewUser();
        foreach (var i in Enumerable.Range(0, 8)) await store.SaveAsync(user, new NewMemory($"user note number {i} about nothing"), Ct);
        var plain = await store.SaveAsync(user, new NewMemory("kayak trip planned in June with friends from school"), Ct);
        var withCommon = await store.SaveAsync(user, new NewMemory("user plans a kayak trip in June with friends from school"), Ct);

        var page = await store.SearchAsync(user, "user kayak", 10, 0, Ct);

        Assert.Equal([withCommon.Id, plain.Id], page.Items.Select(i => i.Memory.Id));
        Assert.Equal(2, page.Total);

        var onlyCommon = await store.SearchAsync(user, "user", 20, 0, Ct);
        Assert.Equal(9, onlyCommon.Total); // a query of common terms only still finds memories
    }

    [Fact]
    public async Task Search_Paginates_AndReportsTheTotal()
    {
        var user = NewUser();
        for (var i = 0; i < 7; i++)
            await Store.SaveAsync(user, new NewMemory($"hiking trip number {i}" + string.Concat(Enumerable.Repeat(" hiking", i))), Ct);

        var first = await Store.SearchAsync(user, "hiking", 3, 0, Ct);
        var second = await Store.SearchAsync(user, "hiking", 3, 3, Ct);
        var last = await Store.SearchAsync(user, "hiking", 3, 6, Ct);
        var beyond = await Store.SearchAsync(user, "hiking", 3, 10, Ct);

        Assert.Equal(7, first.Total);
        Assert.Equal(3, first.Items.Count);
        Assert.Equal(3, second.Items.Count);
        Assert.Single(last.Items);
        Assert.Empty(beyond.Items);
        Assert.Equal(7, beyond.Total);
        var all = first.Items.Concat(second.Items).Concat(last.Items).ToList();
        Assert.Equal(7, all.Select(i => i.Memory.Id).Distinct().Count());
        Assert.True(all.Zip(all.Skip(1)).All(p => p.First.Score >= p.Second.Score), "scores descend across pages");
    }

    [Fact]
    public async Task List_NewestFirst_Paginates()
    {
        var user = NewUser();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++) ids.Add((await Store.SaveAsync(user, new NewMemory($"note {i}", ["t" + i]), Ct)).Id);

        var first = await Store.ListAsync(user, 2, 0, Ct);
        var rest = await Store.ListAsync(user, 10, 2, Ct);

        Assert.Equal(5, first.Total);
        Assert.Equal([ids[4], ids[3]], first.Items.Select(i => i.Memory.Id));
        Assert.Equal([ids[2], ids[1], ids[0]], rest.Items.Select(i => i.Memory.Id));
        Assert.Equal(["t4"], first.Items[0].Memory.Tags);
        Assert.All(first.Items, i => Assert.Null(i.Score));
    }

    [Fact]
    public async Task Delete_RemovesTheMemoryFromGetListAndSearch()
    {
        var user = NewUser();
        var keep = await Store.SaveAsync(user, new NewMemory("parking spot is B12"), Ct);
        var gone = await Store.SaveAsync(user, new NewMemory("the wifi password is swordfish"), Ct);

        Assert.True(await Store.DeleteAsync(user, gone.Id, Ct));

        Assert.Null(await Store.GetAsync(user, gone.Id, Ct));
        Assert.Empty((await Store.SearchAsync(user, "swordfish password", 10, 0, Ct)).Items);
        var list = await Store.ListAsync(user, 10, 0, Ct);
        Assert.Equal(keep.Id, Assert.Single(list.Items).Memory.Id);
        Assert.Equal(1, list.Total);
        Assert.False(await Store.DeleteAsync(user, gone.Id, Ct));

        // The same content can be stored again after a delete, under a new id.
        var again = await Store.SaveAsync(user, new NewMemory("the wifi password is swordfish"), Ct);
        Assert.False(again.Duplicate);
        Assert.NotEqual(gone.Id, again.Id);
        Assert.Equal(again.Id, Assert.Single((await Store.SearchAsync(user, "swordfish", 10, 0, Ct)).Items).Memory.Id);
    }

    [Fact]
    public async Task Save_ExactDuplicate_ReturnsTheExistingId()
    {
        var user = NewUser();
        var first = await Store.SaveAsync(user, new NewMemory("Allergic to peanuts"), Ct);
        var second = await Store.SaveAsync(user, new NewMemory("  Allergic   to\npeanuts "), Ct);
        var different = await Store.SaveAsync(user, new NewMemory("allergic to peanuts"), Ct);
        var otherUser = await Store.SaveAsync(NewUser(), new NewMemory("Allergic to peanuts"), Ct);

        Assert.False(first.Duplicate);
        Assert.True(second.Duplicate);
        Assert.Equal(first.Id, second.Id);
        Assert.False(different.Duplicate);
        Assert.NotEqual(first.Id, otherUser.Id);
        Assert.Equal(2, (await Store.ListAsync(user, 10, 0, Ct)).Total);
        Assert.Single((await Store.SearchAsync(user, "Allergic to peanuts", 10, 0, Ct)).Items, i => i.Memory.Id == first.Id);
    }

    [Fact]
    public async Task Save_ConcurrentDuplicates_StoreOneMemory()
    {
        var user = NewUser();
        var results = await Task.WhenAll(Enumerable.Range(0, 8)
            .Select(_ => Task.Run(() => Store.SaveAsync(user, new NewMemory("Lives in Lisbon"), Ct), Ct)));

        Assert.Single(results.Select(r => r.Id).Distinct());
        Assert.Single(results, r => !r.Duplicate);
        Assert.Equal(1, (await Store.ListAsync(user, 10, 0, Ct)).Total);
        Assert.Single((await Store.SearchAsync(user, "Lisbon", 10, 0, Ct)).Items);
    }

    [Fact]
    public async Task SaveMany_KeepsInputOrder_AndFoldsDuplicatesInTheBatch()
    {
        var user = NewUser();
        var existing = await Store.SaveAsync(user, new NewMemory("owns a bicycle"), Ct);

        var results = await Store.SaveManyAsync(user,
            [new NewMemory("likes jazz"), new NewMemory("owns a bicycle"), new NewMemory("likes jazz"), new NewMemory("speaks Dutch")], Ct);

        Assert.False(results[0].Duplicate);
        Assert.Equal(existing.Id, results[1].Id);
        Assert.True(results[1].Duplicate);
        Assert.Equal(results[0].Id, results[2].Id);
        Assert.True(results[2].Duplicate);
        Assert.False(results[3].Duplicate);
        Assert.Equal(3, (await Store.ListAsync(user, 10, 0, Ct)).Total);
    }

    [Fact]
    public async Task EveryPath_IsScopedToTheUser()
    {
        var alice = NewUser();
        var bob = NewUser();
        var secret = await Store.SaveAsync(alice, new NewMemory("Alice's bank PIN hint: birthday of 小明"), Ct);

        Assert.Null(await Store.GetAsync(bob, secret.Id, Ct));
        Assert.False(await Store.DeleteAsync(bob, secret.Id, Ct));
        Assert.Empty((await Store.SearchAsync(bob, "bank PIN 小明", 10, 0, Ct)).Items);
        Assert.Empty((await Store.ListAsync(bob, 10, 0, Ct)).Items);
        Assert.NotNull(await Store.GetAsync(alice, secret.Id, Ct));
        Assert.Single((await Store.SearchAsync(alice, "小明", 10, 0, Ct)).Items);
    }

    [Fact]
    public async Task Search_QueryOfStopWordsOrPunctuation_ReturnsNothing()
    {
        var user = NewUser();
        await Store.SaveAsync(user, new NewMemory("The answer is 42"), Ct);

        Assert.Empty((await Store.SearchAsync(user, "the is", 10, 0, Ct)).Items);
        Assert.Empty((await Store.SearchAsync(user, "?!，。", 10, 0, Ct)).Items);
        Assert.Single((await Store.SearchAsync(user, "42", 10, 0, Ct)).Items);
    }
}

public sealed class PostgresMemoryStoreTests(PostgresStoreFixture fixture) : MemoryStoreTests(fixture), IClassFixture<PostgresStoreFixture>;

public sealed class SqliteMemoryStoreTests(SqliteStoreFixture fixture) : MemoryStoreTests(fixture), IClassFixture<SqliteStoreFixture>;
