using Agents.Micro.TestSupport;
using Agents.Micro.ServiceDefaults.Security;
using Agents.Micro.Storage.Files;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Agents.Micro.FileService.Tests;

/// <summary>
/// FileService hosted in-process on one storage backend. Requests carry an identity signed with the internal key,
/// as the gateway would send it. <see cref="SnapshotAsync"/> is the raw view of the backend (staging areas and
/// unfinished multipart uploads included) that "storage unchanged" assertions compare.
/// </summary>
public abstract class FileServiceFixture : IAsyncLifetime
{
    public const string InternalKey = "file-service-tests-internal-key-0123456789abcdef";
    private WebApplicationFactory<Program>? _factory;
    private WebApplicationFactory<Program>? _kestrel;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<WebApplicationFactory<Program>, string> _addresses = new();
    private IDictionary<string, string?> _settings = new Dictionary<string, string?>();

    public WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("fixture not started");

    public InternalIdentity Identity { get; } = new(InternalKey);

    public IFileStore Store => Factory.Services.GetRequiredService<IFileStore>();

    protected abstract Task<IDictionary<string, string?>> PrepareAsync();

    /// <summary>Every stored object or file of the backend with a fingerprint of its content.</summary>
    public abstract Task<IReadOnlySet<string>> SnapshotAsync();

    protected abstract Task CleanUpAsync();

    public async ValueTask InitializeAsync()
    {
        var settings = _settings = await PrepareAsync();
        settings["Auth:InternalKey"] = InternalKey;
        settings["Logging:LogLevel:Default"] = "Warning";
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
            b.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(settings)));
        _ = _factory.Server; // start now, so that a backend that cannot start fails here
    }

    /// <summary>
    /// The same service behind real Kestrel on a loopback port: real HTTP framing, Kestrel's own body-size limits,
    /// and none of the in-memory test server's request buffering (which would distort a memory measurement).
    /// </summary>
    public WebApplicationFactory<Program> Kestrel() => _kestrel ??= StartKestrel();

    /// <summary>A separate Kestrel-hosted instance with extra settings; the caller disposes it.</summary>
    public WebApplicationFactory<Program> StartKestrel(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>(_settings);
        foreach (var (key, value) in extra) settings[key] = value;
        settings["Urls"] = "http://127.0.0.1:0"; // not the service's fixed port: several instances may run at once
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
            b.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(settings)));
        factory.UseKestrel(0);
        factory.StartServer();
        _addresses[factory] = factory.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return factory;
    }

    public async ValueTask DisposeAsync()
    {
        if (_kestrel is not null) await _kestrel.DisposeAsync();
        if (_factory is not null) await _factory.DisposeAsync();
        await CleanUpAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// A client without the factory's redirect handler: to replay a request on redirect, that handler buffers the
    /// whole request body in the test process, which would hide whether the service streams.
    /// </summary>
    public HttpClient RawClient(WebApplicationFactory<Program>? factory = null)
    {
        factory ??= Factory;
        var options = new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false };
        if (_addresses.TryGetValue(factory, out var address)) options.BaseAddress = new Uri(address);
        return factory.CreateClient(options);
    }

    public HttpClient ClientFor(string userId, WebApplicationFactory<Program>? factory = null)
    {
        return RawClient(factory).SignedAs(Identity, userId);
    }

    /// <summary>The same service with extra settings (a smaller upload limit, …).</summary>
    public WebApplicationFactory<Program> With(params (string Key, string Value)[] settings) =>
        Factory.WithWebHostBuilder(b => b.ConfigureAppConfiguration((_, config) =>
            config.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))));
}
