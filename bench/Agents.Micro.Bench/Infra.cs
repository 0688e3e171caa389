using System.Diagnostics;
using Npgsql;

namespace Agents.Micro.Bench;

/// <summary>The shared servers (scripts/test-infra.sh): a throwaway PostgreSQL database and RabbitMQ vhost per run.</summary>
public static class Infra
{
    public static string PgAdmin => Environment.GetEnvironmentVariable("AGENTS_TEST_PG")
        ?? "Host=127.0.0.1;Port=5432;Username=agents;Password=agents;Database=postgres";
    public static string RabbitHost => Environment.GetEnvironmentVariable("AGENTS_TEST_RABBIT_HOST") ?? "127.0.0.1";
    public static string S3Url => Environment.GetEnvironmentVariable("AGENTS_TEST_S3_URL") ?? "http://127.0.0.1:7480";
    public static string S3Key => Environment.GetEnvironmentVariable("AGENTS_TEST_S3_ACCESS_KEY") ?? "minioadmin";
    public static string S3Secret => Environment.GetEnvironmentVariable("AGENTS_TEST_S3_SECRET_KEY") ?? "minioadmin";

    public static async Task<string> CreateDatabaseAsync(string name)
    {
        await AdminAsync($"CREATE DATABASE {name}");
        // No pool size: the services use their own default (SqlDatabase.DefaultMaxPoolSize), as in production.
        return new NpgsqlConnectionStringBuilder(PgAdmin) { Database = name }.ConnectionString;
    }

    public static async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await AdminAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    private static async Task AdminAsync(string sql)
    {
        await using var c = new NpgsqlConnection(PgAdmin);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    public static async Task RabbitmqctlAsync(string args)
    {
        var p = Process.Start(new ProcessStartInfo("rabbitmqctl", args) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException("rabbitmqctl not found — run scripts/test-infra.sh up");
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"rabbitmqctl {args}: {await p.StandardError.ReadToEndAsync()}");
    }

    /// <summary>radosgw keeps deleted data until garbage collection; big uploads need it (best effort: only with a local Ceph).</summary>
    public static async Task S3GarbageCollectAsync()
    {
        var conf = (Environment.GetEnvironmentVariable("AGENTS_TEST_S3_DIR") ?? "/tmp/agents-test-infra-s3") + "/ceph.conf";
        if (!File.Exists(conf)) return;
        try
        {
            var p = Process.Start(new ProcessStartInfo("radosgw-admin", $"-c {conf} gc process --include-all") { RedirectStandardOutput = true, RedirectStandardError = true });
            if (p is not null) await p.WaitForExitAsync();
        }
        catch (System.ComponentModel.Win32Exception) { }
    }

    /// <summary>Resident set size of a process in bytes (Linux <c>/proc/&lt;pid&gt;/status</c> VmRSS).</summary>
    public static long Rss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException) { }
        return 0;
    }
}
