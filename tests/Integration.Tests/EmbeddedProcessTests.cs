using System.Net.Http.Headers;
using Agents.Micro.TestSupport;

namespace Agents.Micro.Integration.Tests;

/// <summary>The README's first command: the embedded default as its own process, with the token it creates on first start.</summary>
public sealed class EmbeddedProcessTests
{
    [Fact]
    public async Task EmbeddedDefault_FirstStart_CreatesADevToken_AndRunsTheQuickstart()
    {
        var dir = Directory.CreateTempSubdirectory("agents-standalone-").FullName;
        try
        {
            await using var host = await ServiceProcess.StartAsync("Standalone", "Agents.Micro.Standalone",
                new Dictionary<string, string> { ["AGENTS_DATA_DIR"] = dir, ["LocalModel__ChunkDelayMs"] = "1" });
            var token = await TestEnv.DevTokenAsync(dir);
            Assert.Contains("dev-token", host.Output);

            using var c = new HttpClient { BaseAddress = new Uri(host.BaseUrl) };
            c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var conv = await c.PostJsonAsync("/api/v1/conversations", new { }, 200);
            var sent = await c.PostJsonAsync("/api/v1/messages", new { message = "hello from the quickstart", conversation_id = conv.GetProperty("conversation_id").GetString() }, 202);
            var t = await TaskPolling.PollAsync(c, sent.GetProperty("task_id").GetString()!);
            Assert.Equal("completed", t.Status);
            Assert.Contains("hello from the quickstart", t.Text());
            Assert.True(File.Exists(Path.Combine(dir, "agents.db")));
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}

/// <summary>A second user for the embedded default, as the README says: the host's own `tokens` command, same data folder.</summary>
public sealed class EmbeddedTokenCommandTests
{
    [Fact]
    public async Task TokensCreate_OnTheEmbeddedHost_MakesAUserThatItsServerAccepts()
    {
        var dir = Directory.CreateTempSubdirectory("agents-standalone-").FullName;
        try
        {
            var dll = Path.Combine(TestEnv.RepoRoot, "services", "Standalone", "bin", TestEnv.Configuration, "net10.0", "Agents.Micro.Standalone.dll");
            var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
            foreach (var a in new[] { dll, "tokens", "create", "--user", "alice" }) psi.ArgumentList.Add(a);
            psi.Environment["AGENTS_DATA_DIR"] = dir;
            using var cli = System.Diagnostics.Process.Start(psi)!;
            var stdout = await cli.StandardOutput.ReadToEndAsync();
            var stderr = await cli.StandardError.ReadToEndAsync();
            await cli.WaitForExitAsync();
            Assert.True(cli.ExitCode == 0, stderr);
            var token = stdout.Trim().Split('\n')[^1].Trim();
            Assert.StartsWith("am_", token);

            await using var host = await ServiceProcess.StartAsync("Standalone", "Agents.Micro.Standalone", new Dictionary<string, string> { ["AGENTS_DATA_DIR"] = dir });
            using var c = new HttpClient { BaseAddress = new Uri(host.BaseUrl) };
            c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var conv = await c.PostJsonAsync("/api/v1/conversations", new { }, 200);
            Assert.StartsWith("conv_", conv.GetProperty("conversation_id").GetString());
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}

/// <summary>What the embedded default does on a machine it shares: no outside connection, data for its owner only.</summary>
public sealed class EmbeddedHygieneTests
{
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task EmbeddedDefault_OpensNoOutboundConnection_AndKeepsItsDataOwnerOnly()
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("this test traces system calls with strace (Linux)");
        var strace = new[] { "/usr/bin/strace", "/bin/strace" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("strace is missing: scripts/test-infra.sh up installs it (apt-get install strace)");
        var parent = Directory.CreateTempSubdirectory("agents-standalone-").FullName;
        var dir = Path.Combine(parent, "data"); // the host creates it
        var trace = Path.Combine(Path.GetTempPath(), $"agents-connect-{Guid.NewGuid():N}.txt");
        try
        {
            // Every connect() of the process and its threads, from its first instruction to its end.
            await using (var host = await ServiceProcess.StartAsync("Standalone", "Agents.Micro.Standalone",
                new Dictionary<string, string> { ["AGENTS_DATA_DIR"] = dir, ["LocalModel__ChunkDelayMs"] = "1" },
                launcher: [strace, "-f", "-qq", "-e", "trace=connect,bind", "-o", trace]))
            {
                var token = await TestEnv.DevTokenAsync(dir);
                using var c = new HttpClient { BaseAddress = new Uri(host.BaseUrl) };
                c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
                var sent = await c.PostJsonAsync("/api/v1/messages", new { message = "hello" }, 202);
                Assert.Equal("completed", (await TaskPolling.PollAsync(c, sent.GetProperty("task_id").GetString()!)).Status);
                using var form = new MultipartFormDataContent { { new ByteArrayContent("secret"u8.ToArray()), "file", "notes.txt" } };
                Assert.True((await c.PostAsync("/api/v1/files/upload", form)).IsSuccessStatusCode);

                const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                    | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
                var files = Directory.GetFiles(dir, "*", SearchOption.AllDirectories);
                Assert.Contains(files, f => f.EndsWith("agents.db", StringComparison.Ordinal));
                Assert.Contains(files, f => f.EndsWith("notes.txt", StringComparison.Ordinal));
                Assert.All(files, f => Assert.True((File.GetUnixFileMode(f) & others) == 0, $"{f} is {File.GetUnixFileMode(f)}"));

                // A graceful stop of the traced process (its shutdown is covered too); strace then ends and flushes its record.
                var child = File.ReadAllText($"/proc/{host.Pid}/task/{host.Pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries).Single();
                using (var term = System.Diagnostics.Process.Start("kill", $"-TERM {child}")) await term!.WaitForExitAsync();
                await host.WaitForExitAsync(TimeSpan.FromSeconds(60));
            }

            var lines = File.ReadAllLines(trace);
            // The record is real: it has the server's bind() of its listening socket.
            Assert.Contains(lines, l => l.Contains("bind(", StringComparison.Ordinal) && l.Contains("sin_port=htons(", StringComparison.Ordinal));
            var connects = lines.Where(l => l.Contains("connect(", StringComparison.Ordinal)).ToList();
            var outside = connects.Where(l => !IsLocal(l)).ToList();
            Assert.True(outside.Count == 0, "connections outside this machine:\n" + string.Join("\n", outside));
            TestContext.Current.TestOutputHelper?.WriteLine($"embedded default: {connects.Count} connect() calls from start to stop, none outside this machine");
        }
        finally
        {
            try { Directory.Delete(parent, true); } catch (IOException) { }
            File.Delete(trace);
        }
    }

    /// <summary>A unix socket, or an IPv4/IPv6 loopback address (strace prints sin_addr / sin6_addr).</summary>
    private static bool IsLocal(string line) =>
        line.Contains("AF_UNIX", StringComparison.Ordinal) || line.Contains("AF_NETLINK", StringComparison.Ordinal) || line.Contains("AF_UNSPEC", StringComparison.Ordinal)
        || System.Text.RegularExpressions.Regex.IsMatch(line, @"inet_addr\(""127\.|inet_pton\(AF_INET6, ""(::1|::ffff:127\.)");
}
