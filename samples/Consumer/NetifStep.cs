using System.Net;
using System.Net.NetworkInformation;
using System.Text.Json;
using Netif;
using Netif.Ipv4;
using Netif.Links;

namespace Consumer;

/// <summary>
/// A network device, as Xen sets one up, with Netback's and Netfront's own methods: domain 1 is the backend (netback) and offers its features;
/// domain 2 creates the frontend (netfront) and publishes its rings and ports; the backend attaches,
/// and the frontend pings the backend's address through the rings.
/// </summary>
internal static class NetifStep
{
    public const string Command = "netif";
    private static readonly IPAddress BackendAddress = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress FrontendAddress = IPAddress.Parse("10.0.0.2");
    private static readonly PhysicalAddress BackendMac = PhysicalAddress.Parse("02-00-00-00-00-01");

    public static async Task OfferAsync(Domain domain, PeerLink peer, CancellationToken cancellationToken)
    {
        var offered = new NetbackFeatures { MaxQueues = 1 };
        await peer.SendAsync($"{Command} {JsonSerializer.Serialize(offered)}");
        var rendezvous = JsonSerializer.Deserialize<NetfrontRendezvous>(await peer.ReceiveAsync(cancellationToken))
            ?? throw new InvalidDataException("Domain 2 sent no netfront rendezvous.");

        // The backend's side of the wire: a responder that answers ARP and pings for 10.0.0.1.
        var (wire, host) = NetworkLink.CreatePair();
        var responder = new Ipv4Responder(BackendMac, BackendAddress);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var answering = AnswerAsync(host, responder, stop.Token);
        string report;
        await using (var netback = Netback<XenEvents, XenMemory>.Attach(domain.Events, domain.Memory, rendezvous, wire, new NetbackOptions { Features = offered }))
        {
            report = await peer.ReceiveAsync(cancellationToken);
        }
        await stop.CancelAsync();
        await answering;
        Console.WriteLine($"netif: {report}; netback's responder answered {responder.ArpReplies} ARP and {responder.EchoReplies} echo request(s)");
        await peer.SendAsync("done");
    }

    public static async Task AcceptAsync(Domain domain, string features, LineLink peer, CancellationToken cancellationToken)
    {
        var offered = JsonSerializer.Deserialize<NetbackFeatures>(features) ?? throw new InvalidDataException("No netback features.");
        using var netfront = Netfront<XenEvents, XenMemory>.Create(domain.Events, domain.Memory, domain.Peer, offered);
        await peer.SendAsync(JsonSerializer.Serialize(netfront.Rendezvous));

        var queue = netfront.Queues[0];
        var buffer = new byte[Frames.MaxFrame];
        await queue.SendAsync(Packets.ArpRequest(netfront.Mac, FrontendAddress, BackendAddress), cancellationToken: cancellationToken);
        var arp = await queue.ReceiveAsync(buffer, cancellationToken);
        var backendMac = Packets.ArpReplyFrom(buffer.AsSpan(0, arp.Length), BackendAddress)
            ?? throw new InvalidDataException("The answer to the ARP request is not an ARP reply.");

        var payload = "ping through netfront and netback"u8.ToArray();
        await queue.SendAsync(Packets.EchoRequest(netfront.Mac, backendMac, FrontendAddress, BackendAddress, 7, 1, payload), cancellationToken: cancellationToken);
        var echo = await queue.ReceiveAsync(buffer, cancellationToken);
        if (!Packets.IsEchoReply(buffer.AsSpan(0, echo.Length), BackendAddress, 7, 1, payload))
            throw new InvalidDataException("The answer to the ping is not its echo reply.");

        await peer.SendAsync($"netfront {Format(netfront.Mac)} learned that {BackendAddress} is at {Format(backendMac)} and got its ping answered ({echo.Length}-byte frame)");
        await peer.ReceiveAsync(cancellationToken);   // "done": the backend has detached
    }

    private static string Format(PhysicalAddress mac) => string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", null)));

    private static async Task AnswerAsync(QueueLink host, Ipv4Responder responder, CancellationToken cancellationToken)
    {
        var frame = new byte[Frames.MaxFrame];
        var reply = new byte[Frames.MaxFrame];
        try
        {
            while (true)
            {
                var received = await host.ReadAsync(frame, cancellationToken);
                var length = responder.TryAnswer(frame.AsSpan(0, received.Length), reply);
                if (length > 0)
                    await host.WriteAsync(reply.AsMemory(0, length), cancellationToken: cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
