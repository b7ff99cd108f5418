using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using Netif.Ipv4;

namespace Netif.Tests;

/// <summary>The ARP and ICMP echo responder that lets Linux ping a netfront.</summary>
public sealed class Ipv4ResponderTests
{
    private static readonly PhysicalAddress Mac = PhysicalAddress.Parse("00-16-3E-00-00-02");
    private static readonly byte[] Peer = [0x02, 0, 0, 0, 0, 1];
    private readonly Ipv4Responder _responder = new(Mac, IPAddress.Parse("10.0.0.2"));

    private static byte[] ArpRequest(byte lastOctet)
    {
        var f = new byte[42];
        f.AsSpan(0, 6).Fill(0xFF);
        Peer.CopyTo(f, 6);
        f[12] = 0x08; f[13] = 0x06;
        byte[] arp = [0, 1, 8, 0, 6, 4, 0, 1, .. Peer, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, lastOctet];
        arp.CopyTo(f, 14);
        return f;
    }

    private static byte[] EchoRequest(int payload)
    {
        var f = new byte[14 + 20 + 8 + payload];
        Mac.GetAddressBytes().CopyTo(f, 0);
        Peer.CopyTo(f, 6);
        f[12] = 0x08;
        var ip = f.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(28 + payload));
        ip[8] = 64; ip[9] = 1;
        byte[] src = [10, 0, 0, 1], dst = [10, 0, 0, 2];
        src.CopyTo(ip[12..]); dst.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Ipv4Responder.Checksum(ip[..20]));
        var icmp = ip[20..];
        icmp[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], 0x1234);
        for (var i = 0; i < payload; i++) icmp[8 + i] = (byte)i;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Ipv4Responder.Checksum(icmp));
        return f;
    }

    [Fact]
    public void An_arp_request_for_our_address_gets_our_mac()
    {
        var reply = new byte[100];
        var n = _responder.TryAnswer(ArpRequest(2), reply);
        Assert.Equal(60, n);
        Assert.Equal(Peer, reply[..6]);
        Assert.Equal(2, BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(20)));
        Assert.Equal(Mac.GetAddressBytes(), reply[22..28]);
        Assert.Equal(new byte[] { 10, 0, 0, 2 }, reply[28..32]);
        Assert.Equal(new byte[] { 10, 0, 0, 1 }, reply[38..42]);
    }

    [Fact]
    public void An_arp_request_for_another_address_is_not_answered() =>
        Assert.Equal(0, _responder.TryAnswer(ArpRequest(3), new byte[100]));

    [Fact]
    public void An_echo_request_gets_an_echo_reply_with_correct_checksums()
    {
        var request = EchoRequest(56);
        var reply = new byte[200];
        var n = _responder.TryAnswer(request, reply);
        Assert.Equal(request.Length, n);
        var ip = reply.AsSpan(14, n - 14);
        Assert.Equal(0, Ipv4Responder.Checksum(ip[..20]));
        Assert.Equal(0, Ipv4Responder.Checksum(ip[20..]));
        Assert.Equal(0, ip[20]);
        Assert.Equal(new byte[] { 10, 0, 0, 1 }, ip[16..20].ToArray());
        Assert.Equal(request.AsSpan(14 + 28).ToArray(), ip[28..].ToArray());
    }

    [Fact]
    public void An_echo_request_with_a_bad_checksum_is_not_answered()
    {
        var request = EchoRequest(8);
        request[^1] ^= 0xFF;
        Assert.Equal(0, _responder.TryAnswer(request, new byte[200]));
    }
}
