using System.Buffers.Binary;

namespace Xen.Evtchn.Unix;

/// <summary>
/// The two 16-byte messages that open a channel on the domain's <c>evtchn</c> socket: the connector's
/// request and the listener's reply (see <c>docs/unix-backend.md</c>). All fields little-endian.
/// </summary>
internal static class Handshake
{
    public const int Size = 16;

    /// <summary>"XEVT" read as a little-endian <c>u32</c>.</summary>
    public const uint Magic = 0x54564558;

    /// <summary>2 since peers ring each other's <see cref="Unix.Doorbell"/>; version 1 rang the channel's socket.</summary>
    public const ushort Version = 2;

    public const short Okay = 0;
    public const short NoSuchPort = -1;
    public const short AlreadyConnected = -2;
    public const short OtherDomain = -3;
    public const short BadRequest = -4;

    /// <summary>Request: magic, version, the connector's domain, the listener's port, the connector's port.</summary>
    public static void WriteRequest(Span<byte> m, ushort fromDomain, uint listenerPort, uint connectorPort)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(m, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(m[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(m[6..], fromDomain);
        BinaryPrimitives.WriteUInt32LittleEndian(m[8..], listenerPort);
        BinaryPrimitives.WriteUInt32LittleEndian(m[12..], connectorPort);
    }

    public static bool TryReadRequest(ReadOnlySpan<byte> m, out ushort fromDomain, out uint listenerPort, out uint connectorPort)
    {
        fromDomain = 0;
        listenerPort = connectorPort = 0;
        if (m.Length != Size || BinaryPrimitives.ReadUInt32LittleEndian(m) != Magic || BinaryPrimitives.ReadUInt16LittleEndian(m[4..]) != Version)
            return false;
        fromDomain = BinaryPrimitives.ReadUInt16LittleEndian(m[6..]);
        listenerPort = BinaryPrimitives.ReadUInt32LittleEndian(m[8..]);
        connectorPort = BinaryPrimitives.ReadUInt32LittleEndian(m[12..]);
        return true;
    }

    /// <summary>Reply: magic, version, status, the listener's port, zero.</summary>
    public static void WriteReply(Span<byte> m, short status, uint listenerPort)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(m, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(m[4..], Version);
        BinaryPrimitives.WriteInt16LittleEndian(m[6..], status);
        BinaryPrimitives.WriteUInt32LittleEndian(m[8..], listenerPort);
        BinaryPrimitives.WriteUInt32LittleEndian(m[12..], 0);
    }

    public static bool TryReadReply(ReadOnlySpan<byte> m, out short status)
    {
        status = BadRequest;
        if (m.Length != Size || BinaryPrimitives.ReadUInt32LittleEndian(m) != Magic || BinaryPrimitives.ReadUInt16LittleEndian(m[4..]) != Version)
            return false;
        status = BinaryPrimitives.ReadInt16LittleEndian(m[6..]);
        return true;
    }

    public static string Reason(short status) => status switch
    {
        NoSuchPort => "no such port is offered",
        AlreadyConnected => "the port is already connected",
        OtherDomain => "the port is offered to another domain",
        _ => $"the listener refused the request (status {status})",
    };
}
