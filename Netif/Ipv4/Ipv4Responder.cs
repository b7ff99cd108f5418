using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Netif.Ipv4;

/// <summary>
/// Answers ARP requests and ICMP echo requests for one IPv4 address, so that a netfront can be
/// pinged. Each answer is built in the caller's buffer; nothing is allocated per frame.
/// </summary>
public sealed class Ipv4Responder
{
    private const ushort EtherTypeIpv4 = 0x0800;
    private const ushort EtherTypeArp = 0x0806;
    private const int MinFrame = 60;
    private readonly byte[] _mac;
    private readonly byte[] _ip;

    /// <summary>Answers for <paramref name="address"/> from <paramref name="mac"/>.</summary>
    /// <exception cref="ArgumentException">The address is not IPv4 or the MAC is not 6 bytes.</exception>
    public Ipv4Responder(PhysicalAddress mac, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(mac);
        ArgumentNullException.ThrowIfNull(address);
        _mac = mac.GetAddressBytes();
        if (_mac.Length != 6)
            throw new ArgumentException("An Ethernet address has 6 bytes.", nameof(mac));
        if (address.AddressFamily != AddressFamily.InterNetwork)
            throw new ArgumentException("The responder answers for an IPv4 address.", nameof(address));
        _ip = address.GetAddressBytes();
    }

    /// <summary>ARP requests answered.</summary>
    public long ArpReplies { get; private set; }

    /// <summary>ICMP echo requests answered.</summary>
    public long EchoReplies { get; private set; }

    /// <summary>
    /// If <paramref name="frame"/> is an ARP request for our address or an ICMP echo request to it,
    /// writes the answer into <paramref name="reply"/> (at least as long as the frame, and 60 bytes)
    /// and returns its length; otherwise returns 0.
    /// </summary>
    public int TryAnswer(ReadOnlySpan<byte> frame, Span<byte> reply)
    {
        if (frame.Length < Frames.EthernetHeader || reply.Length < Math.Max(frame.Length, MinFrame))
            return 0;
        var type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        return type switch
        {
            EtherTypeArp => AnswerArp(frame, reply),
            EtherTypeIpv4 => AnswerEcho(frame, reply),
            _ => 0,
        };
    }

    private int AnswerArp(ReadOnlySpan<byte> frame, Span<byte> reply)
    {
        var arp = frame[Frames.EthernetHeader..];
        // Ethernet/IPv4 request for our address.
        if (arp.Length < 28 || BinaryPrimitives.ReadUInt16BigEndian(arp) != 1 || BinaryPrimitives.ReadUInt16BigEndian(arp[2..]) != EtherTypeIpv4
            || arp[4] != 6 || arp[5] != 4 || BinaryPrimitives.ReadUInt16BigEndian(arp[6..]) != 1 || !arp.Slice(24, 4).SequenceEqual(_ip))
            return 0;
        reply[..MinFrame].Clear();
        arp.Slice(8, 6).CopyTo(reply);                  // to the asker
        _mac.CopyTo(reply[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(reply[12..], EtherTypeArp);
        var r = reply[Frames.EthernetHeader..];
        arp[..6].CopyTo(r);                             // htype, ptype, hlen, plen
        BinaryPrimitives.WriteUInt16BigEndian(r[6..], 2); // reply
        _mac.CopyTo(r[8..]);
        _ip.CopyTo(r[14..]);
        arp.Slice(8, 10).CopyTo(r[18..]);               // the asker's MAC and IP
        ArpReplies++;
        return MinFrame;
    }

    private int AnswerEcho(ReadOnlySpan<byte> frame, Span<byte> reply)
    {
        var ip = frame[Frames.EthernetHeader..];
        if (ip.Length < 20 || ip[0] >> 4 != 4)
            return 0;
        var headerLength = (ip[0] & 0xF) * 4;
        var total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (headerLength < 20 || total < headerLength + 8 || total > ip.Length || ip[9] != 1 || !ip.Slice(16, 4).SequenceEqual(_ip)
            || (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3FFF) != 0 // fragments are not answered
            || Checksum(ip[..headerLength]) != 0)
            return 0;
        var icmp = ip[headerLength..total];
        if (icmp[0] != 8 || icmp[1] != 0 || Checksum(icmp) != 0)
            return 0;

        var length = Frames.EthernetHeader + total;
        frame[..length].CopyTo(reply);
        if (length < MinFrame)
            reply[length..MinFrame].Clear();
        frame.Slice(6, 6).CopyTo(reply);                // back to the sender
        _mac.CopyTo(reply[6..]);
        var rip = reply[Frames.EthernetHeader..];
        ip.Slice(12, 4).CopyTo(rip[16..]);
        _ip.CopyTo(rip[12..]);
        rip[8] = 64;                                    // TTL
        rip[10] = rip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(rip[10..], Checksum(rip[..headerLength]));
        var ricmp = rip[headerLength..total];
        ricmp[0] = 0;                                   // echo reply
        ricmp[2] = ricmp[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ricmp[2..], Checksum(ricmp));
        EchoReplies++;
        return Math.Max(length, MinFrame);
    }

    /// <summary>The Internet checksum (RFC 1071): zero over data that carries a correct one.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        var i = 0;
        for (; i + 1 < data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length)
            sum += (uint)data[i] << 8;
        while (sum > 0xFFFF)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
