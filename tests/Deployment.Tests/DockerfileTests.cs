using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Agents.Micro.Deployment.Tests;

/// <summary>
/// services/*/Dockerfile, checked without building: a missing COPY source or project file only shows up in
/// `docker build`, which cannot run on machines without a Docker engine.
/// </summary>
public sealed partial class DockerfileTests
{
    public static TheoryData<string> ServiceFolders => new(ServiceCatalog.AllFolders());

    [Theory, MemberData(nameof(ServiceFolders))]
    public void CopySources_AllExistInTheBuildContext(string folder)
    {
        var service = ServiceCatalog.ByFolder(folder);
        var dockerfile = LoadDockerfile(service);
        ServiceCatalog.AssertProjectExists(service);

        var missing = dockerfile.ContextCopies()
            .SelectMany(copy => copy.Sources.Select(source => (copy.Line, source)))
            .Where(c => !Repo.Exists(c.source.TrimEnd('/')))
            .Select(c => $"line {c.Line}: {c.source}")
            .ToList();

        Assert.True(missing.Count == 0, $"{service.Dockerfile} copies what the repository does not have:\n{string.Join("\n", missing)}");
    }

    [Theory, MemberData(nameof(ServiceFolders))]
    public void Restore_SeesEveryProjectTheServiceReferences(string folder)
    {
        var service = ServiceCatalog.ByFolder(folder);
        var dockerfile = LoadDockerfile(service);
        ServiceCatalog.AssertProjectExists(service);
        var restore = dockerfile.Instructions.FirstOrDefault(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet restore"));
        Assert.True(restore is not null, $"{service.Dockerfile} has no `RUN dotnet restore` step");

        var copiedBeforeRestore = dockerfile.ContextCopies().Where(c => c.Line < restore.Line).SelectMany(c => c.Sources).ToList();
        var needed = ProjectClosure(service.ProjectFile).Concat(["Directory.Build.props", "Directory.Packages.props", "global.json"]);
        var missing = needed.Where(path => !copiedBeforeRestore.Any(source => Covers(source, path))).ToList();

        Assert.True(missing.Count == 0,
            $"{service.Dockerfile} restores before it copies {string.Join(", ", missing)}: add a COPY line for each above line {restore.Line}");
        Assert.Contains(service.ProjectFile, restore.Arguments);
    }

    [Theory, MemberData(nameof(ServiceFolders))]
    public void Runtime_ListensOnTheServicePort_AsNonRoot_WithAHealthCheck(string folder)
    {
        var service = ServiceCatalog.ByFolder(folder);
        var dockerfile = LoadDockerfile(service);
        var runtime = dockerfile.Instructions.SkipWhile(i => !(i.Keyword == "FROM" && i.Arguments.Contains("dotnet/aspnet"))).ToList();
        Assert.True(runtime.Count > 0, $"{service.Dockerfile} has no runtime stage FROM mcr.microsoft.com/dotnet/aspnet");

        Assert.Contains(runtime, i => i.Keyword == "EXPOSE" && i.Arguments.Split(' ').Contains(service.Port.ToString()));
        Assert.Contains(runtime, i => i.Keyword == "HEALTHCHECK" && i.Arguments.Contains($":{service.Port}/health/live"));
        var user = runtime.LastOrDefault(i => i.Keyword == "USER");
        Assert.True(user is not null && user.Arguments is not ("root" or "0"), $"{service.Dockerfile} runs as root");
        Assert.Contains(runtime, i => i.Keyword == "ENTRYPOINT" && i.Arguments.Contains($"{service.AssemblyName}.dll"));
    }

    [Theory, MemberData(nameof(ServiceFolders))]
    public void Project_BuildsTheAssemblyTheImageRuns_AndListensOnTheSamePort(string folder)
    {
        var service = ServiceCatalog.ByFolder(folder);
        ServiceCatalog.AssertProjectExists(service);

        var assemblyName = XDocument.Load(Repo.PathOf(service.ProjectFile)).Descendants("AssemblyName").Select(e => e.Value).FirstOrDefault();
        Assert.Equal(service.AssemblyName, assemblyName);
        var settings = Repo.PathOf($"services/{folder}/appsettings.json");
        if (File.Exists(settings) && UrlsPort().Match(File.ReadAllText(settings)) is { Success: true } urls)
            Assert.Equal(service.Port.ToString(), urls.Groups["port"].Value);
    }

    private static Dockerfile LoadDockerfile(ExpectedService service)
    {
        Assert.True(Repo.Exists(service.Dockerfile), $"{service.Dockerfile} does not exist, yet docker-compose.yml builds '{service.ComposeName}' from it");
        return Dockerfile.Load(Repo.PathOf(service.Dockerfile));
    }

    /// <summary>The project and every project it references, directly or not (repository-relative, '/' separated).</summary>
    private static List<string> ProjectClosure(string project)
    {
        var seen = new List<string>();
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var current))
        {
            if (seen.Contains(current)) continue;
            seen.Add(current);
            Assert.True(Repo.Exists(current), $"{current} is referenced but does not exist");
            var directory = Path.GetDirectoryName(Repo.PathOf(current))!;
            foreach (var reference in XDocument.Load(Repo.PathOf(current)).Descendants("ProjectReference"))
            {
                var full = Path.GetFullPath(Path.Combine(directory, reference.Attribute("Include")!.Value.Replace('\\', '/')));
                pending.Push(Path.GetRelativePath(Repo.Root, full).Replace('\\', '/'));
            }
        }
        return seen;
    }

    // "shared/" covers "shared/Contracts/X.csproj"; "a.csproj" covers itself; "." covers everything.
    private static bool Covers(string source, string path)
    {
        var s = source.TrimStart('.', '/');
        if (s.Length == 0) return true;
        return path == s || path.StartsWith(s.TrimEnd('/') + "/", StringComparison.Ordinal);
    }

    [GeneratedRegex(@"""Urls""\s*:\s*""[^""]*:(?<port>\d+)")]
    private static partial Regex UrlsPort();
}
