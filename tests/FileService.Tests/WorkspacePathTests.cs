using Agents.Micro.Storage.Files;

namespace Agents.Micro.FileService.Tests;

public sealed class WorkspacePathTests
{
    [Theory]
    [InlineData("a.txt", "a.txt")]
    [InlineData("inputs/hello.txt", "inputs/hello.txt")]
    [InlineData("资料/二月/报告.txt", "资料/二月/报告.txt")]
    [InlineData("e\u0301te\u0301.md", "\u00e9t\u00e9.md")] // NFD accents → NFC: one name, however it was typed
    [InlineData("with space/a b.txt", "with space/a b.txt")]
    [InlineData(".hidden/..double.dots", ".hidden/..double.dots")]
    [InlineData("emoji 😀.png", "emoji 😀.png")]
    public void Normalize_AcceptsRealNames(string raw, string expected) =>
        Assert.Equal(expected.Normalize(System.Text.NormalizationForm.FormC), WorkspacePath.Normalize(raw));

    [Theory]
    [InlineData("..")]
    [InlineData("../a")]
    [InlineData("a/../../b")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\b")]
    [InlineData("a//b")]
    [InlineData("a/")]
    [InlineData("./a")]
    [InlineData("a/./b")]
    [InlineData("a\0b")]
    [InlineData("a\tb")]
    [InlineData("a\u0085b")]
    [InlineData("a\u202Eb")]
    [InlineData(" a")]
    [InlineData("a ")]
    public void Normalize_RejectsHostilePaths(string raw)
    {
        Assert.False(WorkspacePath.TryNormalize(raw, allowRoot: true, out var path, out var error));
        Assert.Null(path);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Normalize_RejectsInvalidUtf16()
    {
        Assert.False(WorkspacePath.TryNormalize("a" + (char)0xD800 + "b", false, out _, out var error));
        Assert.Contains("Unicode", error);
        Assert.False(WorkspacePath.TryNormalize("a" + (char)0xDC00, false, out _, out _));
    }

    [Fact]
    public void Normalize_RejectsOverLongNamesAndPaths_CountingUtf8Bytes()
    {
        Assert.True(WorkspacePath.TryNormalize(new string('a', 255), false, out _, out _));
        Assert.False(WorkspacePath.TryNormalize(new string('a', 256), false, out _, out _));
        Assert.True(WorkspacePath.TryNormalize(new string('名', 85), false, out _, out _));   // 255 bytes
        Assert.False(WorkspacePath.TryNormalize(new string('名', 86), false, out _, out _));  // 258 bytes
        Assert.False(WorkspacePath.TryNormalize(string.Join('/', Enumerable.Repeat(new string('b', 200), 4)), false, out _, out _));
        Assert.False(WorkspacePath.TryNormalize(string.Join('/', Enumerable.Repeat("c", 33)), false, out _, out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(".")]
    public void Root_IsAllowedOnlyWhereAskedFor(string? raw)
    {
        Assert.True(WorkspacePath.TryNormalize(raw, allowRoot: true, out var path, out _));
        Assert.Equal("", path);
        Assert.False(WorkspacePath.TryNormalize(raw, allowRoot: false, out _, out _));
    }

    [Theory]
    [InlineData("alice", true)]
    [InlineData("user-42", true)]
    [InlineData("用户", true)]
    [InlineData("", false)]
    [InlineData("..", false)]
    [InlineData(".staging", false)]
    [InlineData("a/b", false)]
    [InlineData("a\\b", false)]
    [InlineData("a\0", false)]
    public void UserIds_MustBeOneSafeSegment(string userId, bool valid) => Assert.Equal(valid, WorkspacePath.IsValidUserId(userId));

    [Fact]
    public void ParentNameAndDisplay_WorkOnNormalizedPaths()
    {
        Assert.Equal("a/b", WorkspacePath.ParentOf("a/b/c.txt"));
        Assert.Equal("", WorkspacePath.ParentOf("c.txt"));
        Assert.Null(WorkspacePath.ParentOf(""));
        Assert.Equal("c.txt", WorkspacePath.NameOf("a/b/c.txt"));
        Assert.Equal(".", WorkspacePath.Display(""));
        Assert.Equal("a/b.txt", WorkspacePath.Combine("a", "b.txt"));
        Assert.Equal("b.txt", WorkspacePath.Combine("", "b.txt"));
    }
}
