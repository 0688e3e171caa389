using System.Text.RegularExpressions;

namespace Agents.Micro.Deployment.Tests;

/// <summary>One instruction of a Dockerfile, continuation lines joined.</summary>
internal sealed record DockerInstruction(int Line, string Keyword, string Arguments);

/// <summary>Just enough of the Dockerfile syntax to check what a build would copy and run.</summary>
internal sealed partial class Dockerfile(IReadOnlyList<DockerInstruction> instructions)
{
    public IReadOnlyList<DockerInstruction> Instructions { get; } = instructions;

    public static Dockerfile Load(string path)
    {
        var instructions = new List<DockerInstruction>();
        var lines = File.ReadAllLines(path);
        for (var i = 0; i < lines.Length; i++)
        {
            var text = lines[i].Trim();
            if (text.Length == 0 || text.StartsWith('#')) continue;
            var start = i;
            while (text.EndsWith('\\') && i + 1 < lines.Length)
            {
                var next = lines[++i].Trim();
                if (next.StartsWith('#')) continue;
                text = text[..^1].TrimEnd() + " " + next;
            }
            var space = text.IndexOf(' ');
            instructions.Add(space < 0
                ? new DockerInstruction(start + 1, text.ToUpperInvariant(), "")
                : new DockerInstruction(start + 1, text[..space].ToUpperInvariant(), text[(space + 1)..].Trim()));
        }
        return new Dockerfile(instructions);
    }

    /// <summary>A COPY from the build context: its sources (relative to the context) and destination.</summary>
    public sealed record Copy(int Line, IReadOnlyList<string> Sources, string Destination);

    /// <summary>COPY/ADD instructions that read the build context (not <c>--from=</c> another stage).</summary>
    public IEnumerable<Copy> ContextCopies()
    {
        foreach (var instruction in Instructions.Where(i => i.Keyword is "COPY" or "ADD"))
        {
            var words = Words(instruction.Arguments);
            if (words.Any(w => w.StartsWith("--from", StringComparison.Ordinal))) continue;
            var paths = words.Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
            if (paths.Count < 2) throw new FormatException($"line {instruction.Line}: {instruction.Keyword} needs a source and a destination");
            yield return new Copy(instruction.Line, paths[..^1], paths[^1]);
        }
    }

    // Handles the JSON form (["a", "b"]) and the shell form (a b).
    private static List<string> Words(string arguments)
    {
        var trimmed = arguments.Trim();
        if (trimmed.StartsWith('[')) return QuotedWord().Matches(trimmed).Select(m => m.Groups[1].Value).ToList();
        return trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    [GeneratedRegex("\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex QuotedWord();
}
