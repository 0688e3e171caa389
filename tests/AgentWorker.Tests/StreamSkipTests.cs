using Agents.Micro.AgentWorker.Runtime;

namespace Agents.Micro.AgentWorker.Tests;

/// <summary>After a crash the repeated model call must not show the client what it already has.</summary>
public sealed class StreamSkipTests
{
    private static string Emit(string? already, params string[] deltas)
    {
        var skip = new StreamSkip(already);
        return string.Concat(deltas.Select(skip.Rest));
    }

    [Fact]
    public void RepeatedStream_ContinuesExactlyAfterWhatWasAlreadyStreamed()
    {
        Assert.Equal(" 4 5", Emit("1 2 3", "1", " 2", " 3", " 4", " 5"));
        Assert.Equal(" 4 5", Emit("1 2 3", "1 2", " 3 4", " 5")); // chunk borders need not match
        Assert.Equal(" 4 5", Emit("1 2 3", "1 2 3", " 4 5"));
    }

    [Fact]
    public void DivergingStream_ContinuesFromTheFirstDifferentCharacter_AndNothingIsSkippedWithoutAPrefix()
    {
        Assert.Equal(" things", Emit("another", "ano", "ther things"));
        Assert.Equal("xyz more", Emit("another", "ano", "xyz", " more"));
        Assert.Equal("ur", Emit("abc", "abur"));
        Assert.Equal("hello", Emit(null, "he", "llo"));
        Assert.Equal("hello", Emit("", "hello"));
    }
}
