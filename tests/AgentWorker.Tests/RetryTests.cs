using Agents.Micro.TestSupport;
using System.Reflection;
using Agents.Micro.Contracts;
using Agents.Micro.Storage.Tasks;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Agents.Micro.AgentWorker.Tests;

/// <summary>
/// Run and resume share the agent-tasks queue, and its retry is configured once, on that endpoint: a command that keeps
/// failing is tried 1 + 3 times (then lands in agent-tasks_error), not retried again by a second policy around it.
/// </summary>
public sealed class RetryTests
{
    [Theory]
    [InlineData("run")]
    [InlineData("resume")]
    public async Task ACommandThatKeepsFailing_IsAttemptedFourTimes(string kind)
    {
        var store = FailingStore.Create();
        var dir = Directory.CreateTempSubdirectory("agents-retry-").FullName;
        try
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Configuration["Database:Provider"] = "sqlite";
            builder.Configuration["Database:ConnectionString"] = $"Data Source={Path.Combine(dir, "t.db")}";
            builder.Configuration["FileStorage:LocalRoot"] = Path.Combine(dir, "files");
            builder.Services.AddSingleton(store);
            builder.AddAgentWorker();
            builder.Services.AddMassTransitTestHarness(bus => bus.AddAgentWorkerMessaging());
            using var host = builder.Build();
            await host.StartAsync(TestContext.Current.CancellationToken);
            var harness = host.Services.GetTestHarness();

            var endpoint = await harness.Bus.GetSendEndpoint(QueueNames.AgentTasksAddress);
            if (kind == "run") await endpoint.Send(new RunTask("t1", "u1"), TestContext.Current.CancellationToken);
            else await endpoint.Send(new ResumeTask("t1", "u1", "i1", "accept"), TestContext.Current.CancellationToken);

            // The fault is published once the retries are used up.
            var faulted = kind == "run"
                ? await harness.Published.Any<Fault<RunTask>>(TestContext.Current.CancellationToken)
                : await harness.Published.Any<Fault<ResumeTask>>(TestContext.Current.CancellationToken);
            Assert.True(faulted);
            Assert.Equal(4, ((FailingStore)(object)store).Claims);
            await host.StopAsync(TestContext.Current.CancellationToken);
        }
        finally
        {
            TestEnv.DeleteSqlite(dir);
        }
    }

    /// <summary>A task store whose database is away: every claim fails (and is counted).</summary>
    public class FailingStore : DispatchProxy
    {
        private int _claims;
        public int Claims => Volatile.Read(ref _claims);

        public static ITaskStore Create() => Create<ITaskStore, FailingStore>();

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            switch (method!.Name)
            {
                case nameof(ITaskStore.EnsureSchemaAsync):
                    return Task.CompletedTask;
                case nameof(ITaskStore.ClaimRunAsync):
                    Interlocked.Increment(ref _claims);
                    return Task.FromException<ClaimedRun?>(new InvalidOperationException("the database is away"));
                default:
                    throw new NotSupportedException(method.Name);
            }
        }
    }
}
