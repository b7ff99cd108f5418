using System.Text;
using Xen.Store;
using Xen.Store.Server;

namespace Mirage.Fuzz;

/// <summary>
/// Xenstore wire messages: the bytes a guest writes to its Xenstore connection, parsed by
/// <see cref="XenstoreServer"/> (headers, payload framing, every request type's arguments, paths,
/// permissions, transactions, watches). A malformed request must get an error reply, a length above
/// <see cref="XsWire.PayloadMax"/> must drop the connection, and nothing may throw inside the server.
/// Every reply must be a well-formed message. The client side's error-name parser gets the payloads too.
/// </summary>
/// <remarks>Input: a domain byte (0 is dom0, else a guest 1-7), then the raw stream.</remarks>
public sealed class XenstoreWireTarget : FuzzTarget
{
    public override string Name => "xenstore";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var script = new FuzzInput(input);
        var domain = (ushort)(script.Byte() & 7);
        var stream = script.Rest();
        var output = XenstoreConnection.Exchange(stream, domain);
        foreach (var (header, payload) in XenstoreConnection.Messages(output))
        {
            if (header.Type == XsMessageType.Error && !Enum.IsDefined(XsWire.ParseError(payload)))
                throw new FuzzFinding("An error reply names no known error.");
        }
        // The client's parsers meet whatever a daemon sends: feed them the guest's bytes as well.
        while (stream.Length >= XsWireHeader.Size)
        {
            var header = XsWireHeader.Read(stream);
            var length = (int)Math.Min(header.Len, (uint)(stream.Length - XsWireHeader.Size));
            _ = XsWire.ParseError(stream.Slice(XsWireHeader.Size, length));
            stream = stream[(XsWireHeader.Size + length)..];
        }
    }

    public override IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        static byte[] Seed(byte domain, params byte[][] messages) =>
            [domain, .. messages.SelectMany(m => m)];
        static byte[] M(XsMessageType type, string payload, uint txId = 0, uint reqId = 1) =>
            XenstoreConnection.Message(type, reqId, txId, Encoding.Latin1.GetBytes(payload));

        yield return ("dom0-write-read", Seed(0, M(XsMessageType.Write, "/a/b\0hello"), M(XsMessageType.Read, "/a/b\0"),
            M(XsMessageType.Directory, "/a\0"), M(XsMessageType.Rm, "/a\0")));
        yield return ("dom0-perms-watch", Seed(0, M(XsMessageType.Mkdir, "/local/domain/3\0"),
            M(XsMessageType.SetPerms, "/local/domain/3\0n3\0r0\0"), M(XsMessageType.GetPerms, "/local/domain/3\0"),
            M(XsMessageType.Watch, "/local\0tok\0"), M(XsMessageType.Write, "/local/domain/3/x\01"),
            M(XsMessageType.Unwatch, "/local\0tok\0")));
        yield return ("dom0-transaction", Seed(0, M(XsMessageType.TransactionStart, "\0"),
            M(XsMessageType.Write, "/t\0v", txId: 1), M(XsMessageType.TransactionEnd, "T\0", txId: 1),
            M(XsMessageType.DirectoryPart, "/\00\0")));
        yield return ("dom0-domains", Seed(0, M(XsMessageType.GetDomainPath, "5\0"), M(XsMessageType.IsDomainIntroduced, "5\0"),
            M(XsMessageType.Introduce, "5\01234\07\0"), M(XsMessageType.SetTarget, "5\06\0"), M(XsMessageType.Release, "5\0"),
            M(XsMessageType.ResetWatches, ""), M(XsMessageType.Control, "print\0x\0")));
        yield return ("guest-relative", Seed(3, M(XsMessageType.Read, "device/vif/0/state\0"), M(XsMessageType.Write, "data/x\0y"),
            M(XsMessageType.Watch, "@releaseDomain\0t\0"), M(XsMessageType.Mkdir, "/forbidden\0")));
        yield return ("length-over-max", Seed(0, [.. new XsWireHeader(XsMessageType.Read, 1, 0, XsWire.PayloadMax + 1).ToBytes()]));
    }
}

internal static class XsWireHeaderBytes
{
    public static byte[] ToBytes(this XsWireHeader header)
    {
        var bytes = new byte[XsWireHeader.Size];
        header.Write(bytes);
        return bytes;
    }
}
