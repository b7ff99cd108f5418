using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using Netif;
using Netif.Ipv4;

namespace Consumer;

/// <summary>The two frames a host sends first: an ARP request, then an ICMP echo request (a ping).</summary>
internal static class Packets
{
    private const ushort EtherTypeIpv4 = 0x0800;
    private const ushort EtherTypeArp = 0x0806;
    private const int MinFrame = 60;

    /// <summary>"Who has <paramref name="target"/>? Tell <paramref name="sender"/>."</summary>
    public static byte[] ArpRequest(PhysicalAddress mac, IPAddress sender, IPAddress target)
    {
        var frame = new byte[MinFrame];
        frame.AsSpan(0, 6).Fill(0xFF);                                   // broadcast
        mac.GetAddressBytes().CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherTypeArp);
        var arp = frame.AsSpan(Frames.EthernetHeader);
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);                   // Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp[2..], EtherTypeIpv4);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], 1);              // request
        mac.GetAddressBytes().CopyTo(arp[8..]);
        sender.GetAddressBytes().CopyTo(arp[14..]);
        target.GetAddressBytes().CopyTo(arp[24..]);
        return frame;
    }

    /// <summary>The MAC in an ARP reply from <paramref name="target"/>, or null if the frame is not one.</summary>
    public static PhysicalAddress? ArpReplyFrom(ReadOnlySpan<byte> frame, IPAddress target)
    {
        if (frame.Length < Frames.EthernetHeader + 28 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != EtherTypeArp)
            return null;
        var arp = frame[Frames.EthernetHeader..];
        return BinaryPrimitives.ReadUInt16BigEndian(arp[6..]) == 2 && arp.Slice(14, 4).SequenceEqual(target.GetAddressBytes())
            ? new PhysicalAddress(arp.Slice(8, 6).ToArray())
            : null;
    }

    /// <summary>An ICMP echo request carrying <paramref name="payload"/>.</summary>
    public static byte[] EchoRequest(PhysicalAddress from, PhysicalAddress to, IPAddress source, IPAddress destination,
                                     ushort id, ushort sequence, ReadOnlySpan<byte> payload)
    {
        var total = 20 + 8 + payload.Length;
        var frame = new byte[Math.Max(Frames.EthernetHeader + total, MinFrame)];
        to.GetAddressBytes().CopyTo(frame, 0);
        from.GetAddressBytes().CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherTypeIpv4);
        var ip = frame.AsSpan(Frames.EthernetHeader, total);
        ip[0] = 0x45;                                                    // IPv4, 20-byte header
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)total);
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], sequence);
        ip[8] = 64;                                                      // TTL
        ip[9] = 1;                                                       // ICMP
        source.GetAddressBytes().CopyTo(ip[12..]);
        destination.GetAddressBytes().CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Ipv4Responder.Checksum(ip[..20]));
        var icmp = ip[20..];
        icmp[0] = 8;                                                     // echo request
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], sequence);
        payload.CopyTo(icmp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Ipv4Responder.Checksum(icmp));
        return frame;
    }

    /// <summary>Whether <paramref name="frame"/> is the echo reply from <paramref name="source"/> to a request with these id, sequence and payload.</summary>
    public static bool IsEchoReply(ReadOnlySpan<byte> frame, IPAddress source, ushort id, ushort sequence, ReadOnlySpan<byte> payload)
    {
        if (frame.Length < Frames.EthernetHeader + 28 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != EtherTypeIpv4)
            return false;
        var ip = frame[Frames.EthernetHeader..];
        var total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (ip[0] != 0x45 || ip[9] != 1 || total != 28 + payload.Length || total > ip.Length || !ip.Slice(12, 4).SequenceEqual(source.GetAddressBytes()))
            return false;
        var icmp = ip[20..total];
        return icmp[0] == 0 && Ipv4Responder.Checksum(icmp) == 0
            && BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]) == id
            && BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]) == sequence
            && icmp[8..].SequenceEqual(payload);
    }
}
