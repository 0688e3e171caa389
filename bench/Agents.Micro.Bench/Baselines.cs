using System.Diagnostics;
using System.Text;
using MassTransit;
using Npgsql;

namespace Agents.Micro.Bench;

public sealed record BenchPing(long Sent);

public sealed record BenchPong(long Sent);

/// <summary>The raw infrastructure with the same client libraries, on the same servers, in the same run.</summary>
public sealed class Baselines(Settings s, Report report)
{
    public async Task MassTransitAsync(string vhost)
    {
        var consumed = new Samples();
        TaskCompletionSource? waiting = null;
        long received = 0;
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(Infra.RabbitHost, 5672, vhost, h => { h.Username("guest"); h.Password("guest"); });
            cfg.ReceiveEndpoint("bench-ping", e =>
            {
                e.PrefetchCount = 64;
                e.Handler<BenchPing>(ctx =>
                {
                    consumed.Add(Api.Ms(ctx.Message.Sent, Stopwatch.GetTimestamp()));
                    Interlocked.Increment(ref received);
                    waiting?.TrySetResult();
                    return Task.CompletedTask;
                });
            });
            cfg.ReceiveEndpoint("bench-rr", e => e.Handler<BenchPing>(ctx => ctx.RespondAsync(new BenchPong(ctx.Message.Sent))));
        });
        await bus.StartAsync();
        try
        {
            var endpoint = await bus.GetSendEndpoint(new Uri("queue:bench-ping"));
            var client = bus.CreateRequestClient<BenchPing>(new Uri("queue:bench-rr"));
            // warm up by time: a fresh MassTransit process runs slower for its first seconds
            var warm = Stopwatch.StartNew();
            while (warm.Elapsed.TotalSeconds < (s.Quick ? 1 : 5))
            {
                await endpoint.Send(new BenchPing(Stopwatch.GetTimestamp()));
                await client.GetResponse<BenchPong>(new BenchPing(0));
            }
            await Task.Delay(200);
            consumed = new Samples();
            for (var i = 0; i < s.Samples * 2; i++)
            {
                waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                await endpoint.Send(new BenchPing(Stopwatch.GetTimestamp()));
                await waiting.Task;
            }
            waiting = null;
            report.Latency("0 baselines", "MassTransit send→consume", consumed, note: "one message at a time");
            var rr = new Samples();
            for (var i = 0; i < s.Samples * 2; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                await client.GetResponse<BenchPong>(new BenchPing(t0));
                rr.Add(Api.Ms(t0, Stopwatch.GetTimestamp()));
            }
            report.Latency("0 baselines", "MassTransit request/response", rr);
            var before = Interlocked.Read(ref received);
            var stop = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                while (stop.Elapsed.TotalSeconds < s.Duration / 2) await endpoint.Send(new BenchPing(Stopwatch.GetTimestamp()));
            })));
            while (Interlocked.Read(ref received) - before < 1 || stop.Elapsed.TotalSeconds < s.Duration / 2 + 0.5) await Task.Delay(50);
            report.Rate("0 baselines", "MassTransit send→consume sustained", "msg/s", (Interlocked.Read(ref received) - before) / stop.Elapsed.TotalSeconds);
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    public async Task PostgresAsync(string connectionString)
    {
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await Exec(c, "CREATE TABLE IF NOT EXISTS bench_events (task_id TEXT NOT NULL, idx BIGINT NOT NULL, type TEXT NOT NULL, data JSONB NOT NULL, ts DOUBLE PRECISION NOT NULL, PRIMARY KEY (task_id, idx))");
        const string data = "{\"content\":\" 7\"}";
        var single = new Samples();
        long idx = 0;
        var stop = Stopwatch.StartNew();
        while (stop.Elapsed.TotalSeconds < s.Duration / 2)
        {
            var t0 = Stopwatch.GetTimestamp();
            await using var cmd = new NpgsqlCommand("INSERT INTO bench_events VALUES ('single', $1, 'text_chunk', $2::jsonb, $3)", c);
            cmd.Parameters.AddWithValue(idx++);
            cmd.Parameters.AddWithValue(data);
            cmd.Parameters.AddWithValue(1.0);
            await cmd.ExecuteNonQueryAsync();
            single.Add(Api.Ms(t0, Stopwatch.GetTimestamp()));
        }
        report.Latency("0 baselines", "PG 1-row INSERT+commit latency", single);
        report.Rate("0 baselines", "PG 1-row INSERT+commit", "events/s", idx / stop.Elapsed.TotalSeconds, note: "one connection, sequential");

        var sql = new StringBuilder("INSERT INTO bench_events VALUES ");
        for (var i = 0; i < 100; i++) sql.Append(i == 0 ? "" : ",").Append($"('multi', ${i * 2 + 1}, 'text_chunk', '{data}'::jsonb, ${i * 2 + 2})");
        var batch = new Samples();
        long rows = 0;
        stop.Restart();
        while (stop.Elapsed.TotalSeconds < s.Duration / 2)
        {
            var t0 = Stopwatch.GetTimestamp();
            await using var cmd = new NpgsqlCommand(sql.ToString(), c);
            for (var i = 0; i < 100; i++)
            {
                cmd.Parameters.AddWithValue(rows++);
                cmd.Parameters.AddWithValue(1.0);
            }
            await cmd.ExecuteNonQueryAsync();
            batch.Add(Api.Ms(t0, Stopwatch.GetTimestamp()));
        }
        report.Latency("0 baselines", "PG 100-row multi-row INSERT latency", batch);
        report.Rate("0 baselines", "PG 100-row multi-row INSERT", "events/s", rows / stop.Elapsed.TotalSeconds, note: "one connection, sequential");

        var poll = new Samples();
        for (var i = 0; i < s.Samples * 2; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            await using var cmd = new NpgsqlCommand("SELECT idx, type, data, ts FROM bench_events WHERE task_id = 'multi' AND idx >= $1 ORDER BY idx LIMIT 1000", c);
            cmd.Parameters.AddWithValue(rows - 20);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync()) { }
            poll.Add(Api.Ms(t0, Stopwatch.GetTimestamp()));
        }
        report.Latency("0 baselines", $"PG poll at the tail ({rows:N0}-row event table)", poll);
        await Exec(c, "DROP TABLE bench_events");
    }

    private static async Task Exec(NpgsqlConnection c, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }
}
