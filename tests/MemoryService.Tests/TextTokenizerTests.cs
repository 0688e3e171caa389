using Agents.Micro.MemoryService.Search;

namespace Agents.Micro.MemoryService.Tests;

public sealed class TextTokenizerTests
{
    [Fact]
    public void ForQuery_ChineseRun_GivesBigramsAndCharacters()
    {
        var terms = TextTokenizer.ForQuery("乌龙茶");
        Assert.Equal(["乌龙", "龙茶", "乌", "龙", "茶"], terms.Terms.Keys);
    }

    [Fact]
    public void ForIndex_LengthCountsWordsAndBigramsButNotTheExtraCharacters()
    {
        var indexed = TextTokenizer.ForIndex("I like 乌龙茶!");
        Assert.Equal(3, indexed.Length); // like, 乌龙, 龙茶
        Assert.Equal(1, indexed.Terms["茶"]);
    }

    [Fact]
    public void ForQuery_English_LowercasesDropsStopWordsAndFoldsPlurals()
    {
        Assert.Equal(["cat", "berry", "tea", "ha"], TextTokenizer.ForQuery("The CATS and the berries, TEAS, ha").Terms.Keys);
        Assert.Empty(TextTokenizer.ForQuery("what is it?").Terms);
    }

    [Fact]
    public void Resolve_KeepsASingleCharacterOnlyWhereNoBigramAroundItOccurs()
    {
        var query = TextTokenizer.ForQuery("用户喜欢喝什么茶");
        string[] stored = ["用户", "喜欢", "喝", "茶", "用", "户", "喜", "欢"];

        var terms = query.Resolve(stored.Contains);

        Assert.Contains("茶", terms.Keys);
        Assert.Contains("喝", terms.Keys);
        Assert.DoesNotContain("用", terms.Keys);
        Assert.DoesNotContain("欢", terms.Keys);
        Assert.Contains("用户", terms.Keys);
    }

    [Fact]
    public void Resolve_KeepsAOneCharacterQuery()
    {
        Assert.Equal(["茶"], TextTokenizer.ForQuery("茶").Resolve(_ => true).Keys);
    }

    [Fact]
    public void ForQuery_FullWidthCharacters_MatchTheirAsciiForms()
    {
        Assert.Equal(["abc", "123"], TextTokenizer.ForQuery("ＡＢＣ　１２３").Terms.Keys);
    }

    [Fact]
    public void ContentNormalizer_IgnoresSurroundingAndRepeatedWhitespaceOnly()
    {
        Assert.Equal(ContentNormalizer.Hash("a  b\n c "), ContentNormalizer.Hash("a b c"));
        Assert.NotEqual(ContentNormalizer.Hash("A b c"), ContentNormalizer.Hash("a b c"));
    }
}
