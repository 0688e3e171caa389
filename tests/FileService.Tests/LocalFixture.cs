namespace Agents.Micro.FileService.Tests;

/// <summary>The local-folder backend in a temporary folder, deleted afterwards.</summary>
public sealed class LocalFixture : FileServiceFixture
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "agents-files-test-" + Guid.NewGuid().ToString("N")[..12]);

    protected override Task<IDictionary<string, string?>> PrepareAsync() =>
        Task.FromResult<IDictionary<string, string?>>(new Dictionary<string, string?>
        {
            ["FileStorage:Provider"] = "local",
            ["FileStorage:LocalRoot"] = Root,
        });

    public override Task<IReadOnlySet<string>> SnapshotAsync()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (Directory.Exists(Root))
            foreach (var f in new DirectoryInfo(Root).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
                seen.Add(f is FileInfo fi
                    ? $"{Path.GetRelativePath(Root, f.FullName)} {fi.Length} {fi.LastWriteTimeUtc.Ticks}"
                    : Path.GetRelativePath(Root, f.FullName) + "/");
        return Task.FromResult<IReadOnlySet<string>>(seen);
    }

    protected override Task CleanUpAsync()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        return Task.CompletedTask;
    }
}
