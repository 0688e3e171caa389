using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Agents.Micro.TaskApi.Webhooks;

/// <summary>
/// Where webhooks may go. Private, loopback, link-local and other non-public addresses are refused (a receiver URL
/// must not reach the deployment's own network or a cloud metadata service) unless a network in
/// <c>Webhooks:AllowedNetworks</c> holds them. Checked when an endpoint is registered and again on every connection,
/// against the address actually connected to, so a name that later resolves elsewhere (DNS rebinding) is refused too.
/// Redirects are never followed.
/// </summary>
public sealed class WebhookDestinations
{
    // Not public: this host, private networks, shared address space (CGNAT), link-local (cloud metadata), benchmarking,
    // documentation, multicast and reserved. IPv4-mapped IPv6 addresses are checked as IPv4.
    private static readonly IPNetwork[] NotPublic =
    [
        IPNetwork.Parse("0.0.0.0/8"), IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"), IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.0.0.0/24"), IPNetwork.Parse("192.0.2.0/24"),
        IPNetwork.Parse("192.168.0.0/16"), IPNetwork.Parse("198.18.0.0/15"), IPNetwork.Parse("198.51.100.0/24"), IPNetwork.Parse("203.0.113.0/24"),
        IPNetwork.Parse("224.0.0.0/4"), IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/128"), IPNetwork.Parse("::1/128"), IPNetwork.Parse("64:ff9b::/96"), IPNetwork.Parse("100::/64"),
        IPNetwork.Parse("2001:db8::/32"), IPNetwork.Parse("fc00::/7"), IPNetwork.Parse("fe80::/10"), IPNetwork.Parse("ff00::/8"),
        // Translation and tunnel prefixes that reach IPv4 (NAT64 local use, IPv4-compatible, 6to4), and deprecated site-local.
        IPNetwork.Parse("64:ff9b:1::/48"), IPNetwork.Parse("::/96"), IPNetwork.Parse("2002::/16"), IPNetwork.Parse("fec0::/10"),
    ];

    private readonly IOptions<WebhookOptions> _options;
    private readonly IPNetwork[] _allowed;

    public WebhookDestinations(IOptions<WebhookOptions> options)
    {
        _options = options;
        _allowed = options.Value.AllowedNetworks.Select(n => IPNetwork.TryParse(n, out var net)
            ? net : throw new OptionsValidationException(WebhookOptions.SectionName, typeof(WebhookOptions),
                [$"Webhooks:AllowedNetworks: '{n}' is not a network in CIDR form (e.g. 10.0.0.0/8)"])).ToArray();
    }

    /// <summary>Why an address may not be a receiver, or null.</summary>
    public string? Refuse(IPAddress address)
    {
        var a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        if (_allowed.Any(n => n.Contains(a))) return null;
        return NotPublic.Any(n => n.Contains(a))
            ? $"{a}, which is not a public address (private, loopback, link-local or reserved); allow its network with Webhooks:AllowedNetworks"
            : null;
    }

    /// <summary>Why <paramref name="raw"/> cannot be a receiver URL (its form, or where its name resolves now), or null.</summary>
    public async Task<(Uri? Url, string? Error)> CheckUrlAsync(string raw, CancellationToken ct)
    {
        if (!Uri.TryCreate(raw, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
            return (null, "'url' must be an absolute https:// URL");
        if (url.Scheme == Uri.UriSchemeHttp && !_options.Value.AllowHttp)
            return (null, "'url' must use https:// (plain http is off: Webhooks:AllowHttp)");
        if (!string.IsNullOrEmpty(url.UserInfo)) return (null, "'url' must not carry a user name or password; the signature authenticates the sender");
        if (!string.IsNullOrEmpty(url.Fragment)) return (null, "'url' must not have a #fragment");
        if (url.IdnHost.Length > 253) return (null, "'url': the host name is longer than 253 characters");
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(url.IdnHost, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(url.IdnHost, ct);
        }
        catch (Exception ex) when (ex is SocketException or ArgumentException)
        {
            return (null, $"'url': the host '{url.Host}' does not resolve");
        }
        foreach (var a in addresses)
            if (Refuse(a) is { } why) return (null, $"'url': {url.Host} resolves to {why}");
        return (url, null);
    }

    /// <summary>
    /// The connection step of the sender's handler: resolves the name, refuses every non-public address (unless
    /// allowed) and connects to the first address that remains.
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        var usable = addresses.Where(a => Refuse(a) is null).ToList();
        if (usable.Count == 0)
            throw new WebhookRefusedException(addresses.Length == 0 ? $"{host} does not resolve" : $"{host} resolves to {Refuse(addresses[0])}");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(usable.ToArray(), context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>A delivery refused before anything was sent (where it would go is not allowed).</summary>
public sealed class WebhookRefusedException(string message) : Exception(message);
