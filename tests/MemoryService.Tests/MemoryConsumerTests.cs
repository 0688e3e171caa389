using System.Net.Http.Json;
using Agents.Micro.Contracts;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Agents.Micro.MemoryService.Tests;

/// <summary>The bus side: what the agent worker calls through <c>IRequestClient&lt;T&gt;</c> on the in-memory transport.</summary>
public sealed class MemoryConsumerTests(MemoryServiceFactory factory) : IClassFixture<MemoryServiceFactory>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewUser() => "u_" + Guid.NewGuid().ToString("N")[..12];

    private async Task<IRequestClient<T>> ClientAsync<T>() where T : class
    {
        _ = factory.Server; // starts the host
        var bus = factory.Services.GetRequiredService<IBusControl>();
        Assert.Equal("loopback", bus.Address.Scheme); // Messaging:Transport=inmemory took effect: no broker involved
        await bus.WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(20));
        return factory.Services.GetRequiredService<IClientFactory>().CreateRequestClient<T>(RequestTimeout.After(s: 20));
    }

    [Fact]
    public async Task RecallMemories_ThroughTheBus_ReturnsTheUsersRelevantMemory()
    {
        var user = NewUser();
        var http = factory.ClientFor(user);
        var created = await http.PostAsJsonAsync("/api/v1/memories", new { content = "我喜欢喝乌龙茶" }, Ct);
        created.EnsureSuccessStatusCode();
        await http.PostAsJsonAsync("/api/v1/memories", new { content = "The user's dog is named Rex" }, Ct);
        var recall = await ClientAsync<RecallMemories>();

        var response = await recall.GetResponse<MemoriesRecalled>(new RecallMemories(user, "乌龙茶", 5), Ct);
        var other = await recall.GetResponse<MemoriesRecalled>(new RecallMemories(NewUser(), "乌龙茶", 5), Ct);

        var hit = Assert.Single(response.Message.Items);
        Assert.Equal("我喜欢喝乌龙茶", hit.Content);
        Assert.True(hit.Score > 0);
        Assert.StartsWith("mem_", hit.Id);
        Assert.Empty(other.Message.Items);
    }

    [Fact]
    public async Task SaveMemory_ThroughTheBus_IsRecalledLater_AndDuplicatesKeepTheirId()
    {
        var user = NewUser();
        var save = await ClientAsync<SaveMemory>();
        var recall = await ClientAsync<RecallMemories>();

        var first = await save.GetResponse<MemorySaved>(new SaveMemory(user, "Favourite city is Kyoto"), Ct);
        var again = await save.GetResponse<MemorySaved>(new SaveMemory(user, "Favourite city is Kyoto"), Ct);
        var found = await recall.GetResponse<MemoriesRecalled>(new RecallMemories(user, "which city is my favourite", 3), Ct);

        Assert.False(first.Message.Duplicate);
        Assert.True(again.Message.Duplicate);
        Assert.Equal(first.Message.MemoryId, again.Message.MemoryId);
        Assert.Equal(first.Message.MemoryId, Assert.Single(found.Message.Items).Id);
    }

    [Fact]
    public async Task SaveMemory_WithEmptyContent_FaultsWithTheReason()
    {
        var save = await ClientAsync<SaveMemory>();

        var ex = await Assert.ThrowsAsync<RequestFaultException>(() => save.GetResponse<MemorySaved>(new SaveMemory(NewUser(), "  "), Ct));

        Assert.Contains("must not be empty", ex.Fault?.Exceptions.FirstOrDefault()?.Message);
    }
}
