namespace Agents.Micro.Deployment.Tests;

/// <summary>Paths in the repository these tests check (found from the test binary upwards).</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    public static bool Exists(string relative) => File.Exists(PathOf(relative)) || Directory.Exists(PathOf(relative));

    /// <summary>Source files of a folder, without build output.</summary>
    public static IEnumerable<string> SourceFiles(string relativeFolder, string pattern)
    {
        var folder = PathOf(relativeFolder);
        if (!Directory.Exists(folder)) return [];
        return Directory.EnumerateFiles(folder, pattern, SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"));
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Agents.Micro.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"Agents.Micro.slnx not found above {AppContext.BaseDirectory}");
    }
}
