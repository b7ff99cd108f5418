using System.Security.Cryptography;
using Vchan;
using Xen.Evtchn;
using Xen.Gnt;

namespace Consumer;

/// <summary>
/// A vchan, libxenvchan's byte stream, opened with VchanEndpoint's own methods: domain 1 listens and passes its control page's grant and its
/// port to domain 2, which connects; each end then sends 16 KiB through 4 KiB rings (so each ring
/// wraps) while it reads the other's, and domain 1 prints a checksum of what each end received.
/// </summary>
internal static class VchanStep
{
    public const string Command = "vchan";
    private const int Length = 16 * 1024;
    public const int RingSize = 4096;
    private const int ServerSeed = 1;
    private const int ClientSeed = 2;

    public static async Task OfferAsync(Domain domain, PeerLink peer, CancellationToken cancellationToken)
    {
        using var server = VchanEndpoint.Listen(domain.Events, domain.Memory, clientDomain: domain.Peer, RingSize, RingSize);   // 4 KiB rings
        var where = server.Rendezvous;
        await peer.SendAsync($"{Command} {where.ControlPage} {where.EventChannel}");
        await server.WaitForConnectionAsync(cancellationToken);
        var received = await ExchangeAsync(server, ServerSeed, cancellationToken);
        var peerReceived = await peer.ReceiveAsync(cancellationToken);   // domain 2's checksum of what it read
        Console.WriteLine($"vchan: grant {where.ControlPage} port {where.EventChannel}, {Length} bytes each way; domain {domain.Peer} received sha256 {peerReceived}, domain {domain.Id} received sha256 {received}");
        await peer.SendAsync("done");
    }

    public static async Task AcceptAsync(Domain domain, string arguments, LineLink peer, CancellationToken cancellationToken)
    {
        var words = arguments.Split(' ');
        var where = new VchanRendezvous(GrantRef.Parse(words[0]), Port.Parse(words[1]));
        using var client = VchanEndpoint.Connect(domain.Events, domain.Memory, serverDomain: domain.Peer, where);
        var received = await ExchangeAsync(client, ClientSeed, cancellationToken);
        await peer.SendAsync(received);
        await peer.ReceiveAsync(cancellationToken);   // "done": domain 1 has read both ends' checksums
    }

    /// <summary>Writes this domain's bytes while reading the peer's: with rings smaller than the data,
    /// writing all before reading would leave both ends waiting for room.</summary>
    private static async Task<string> ExchangeAsync(VchanEndpoint vchan, int seed, CancellationToken cancellationToken)
    {
        var write = vchan.WriteAsync(Pattern(seed), cancellationToken).AsTask();
        var buffer = new byte[Length];
        for (var read = 0; read < Length;)
        {
            var n = await vchan.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
                throw new EndOfStreamException($"The vchan closed after {read} of {Length} bytes.");
            read += n;
        }
        await write;
        return Convert.ToHexStringLower(SHA256.HashData(buffer))[..16];
    }

    /// <summary>What an end sends: a byte sequence that differs between the two ends, whatever their domain ids.</summary>
    private static byte[] Pattern(int seed)
    {
        var bytes = new byte[Length];
        for (var i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)(i * 31 + seed * 7 + i / 251);
        return bytes;
    }
}
