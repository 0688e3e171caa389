using System.Diagnostics;

namespace Agents.Micro.Deployment.Tests;

/// <summary>
/// Runs <c>docker-compose config</c>, which parses, validates and interpolates the compose file without a Docker engine
/// (Debian's docker-compose package; the Compose v2 plugin <c>docker compose</c> is used if that is what is installed).
/// </summary>
internal static class ComposeCli
{
    /// <summary>Values for the variables the compose file requires (<c>${X:?...}</c>).</summary>
    public static readonly IReadOnlyDictionary<string, string?> RequiredVariables = new Dictionary<string, string?>
    {
        ["AGENTS_INTERNAL_KEY"] = "test-internal-key-0123456789abcdefghijklmnopqrstuvwxyz",
        ["AGENTS_ADMIN_TOKEN_SHA256"] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ["AGENTS_DASHBOARD_TOKEN"] = "test-dashboard-token",
        ["AGENTS_OTLP_API_KEY"] = "test-otlp-key",
        ["POSTGRES_PASSWORD"] = "test-postgres-password",
        ["RABBITMQ_PASSWORD"] = "test-rabbitmq-password",
        ["MINIO_ROOT_PASSWORD"] = "test-minio-password",
    };

    private static readonly Lazy<ComposeModel> Resolved = new(() =>
    {
        var result = Config(RequiredVariables);
        Assert.True(result.ExitCode == 0, $"docker-compose config failed (exit {result.ExitCode}):\n{result.StdErr}");
        return ComposeModel.Parse(result.StdOut);
    });

    /// <summary>The compose file as Docker would run it, with the required variables set.</summary>
    public static ComposeModel Model => Resolved.Value;

    private static readonly Lazy<string> EmptyEnvFile = new(Path.GetTempFileName);

    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary><c>docker-compose -f docker-compose.yml [-f override…] config</c> with exactly these variables (others removed).</summary>
    public static Result Config(IReadOnlyDictionary<string, string?> variables, params string[] overrideFiles)
    {
        var (file, prefix) = FindCompose();
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = Repo.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        var files = new[] { "docker-compose.yml" }.Concat(overrideFiles).SelectMany(f => new[] { "-f", f });
        foreach (var arg in prefix.Concat(files).Concat(["--project-directory", Repo.Root, "--env-file", EmptyEnvFile.Value, "config"])) psi.ArgumentList.Add(arg);
        // A developer's own .env or shell must not change what is checked: only the variables given here count
        // (hence also an empty --env-file: docker-compose wants a regular file).
        foreach (var name in new[] { "AGENTS_INTERNAL_KEY", "AGENTS_ADMIN_TOKEN_SHA256", "AGENTS_ADMIN_USER", "POSTGRES_PASSWORD",
                     "RABBITMQ_USER", "RABBITMQ_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME" })
            psi.Environment.Remove(name);
        psi.Environment["COMPOSE_PROJECT_NAME"] = "agents-micro";
        foreach (var (name, value) in variables) psi.Environment[name] = value;

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} config did not finish within 60 s");
        }
        return new Result(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static (string File, string[] Prefix) FindCompose()
    {
        if (OnPath("docker-compose") is { } legacy) return (legacy, []);
        if (OnPath("docker") is { } docker && Succeeds(docker, "compose", "version")) return (docker, ["compose"]);
        Assert.Fail("docker-compose is not installed, and neither is the docker compose plugin: apt-get install docker-compose (scripts/test-infra.sh up installs it)");
        throw new UnreachableException();
    }

    private static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private static bool Succeeds(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi);
        if (process is null) return false;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        return process.WaitForExit(TimeSpan.FromSeconds(30)) && process.ExitCode == 0;
    }
}
