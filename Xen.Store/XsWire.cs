using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Xen.Store;

/// <summary>Message types of <c>xs_wire.h</c>'s <c>enum xsd_sockmsg_type</c>.</summary>
public enum XsMessageType : uint
{
    /// <summary>An implementation-specific command (formerly <c>XS_DEBUG</c>).</summary>
    Control = 0,
    /// <summary>List a node's children.</summary>
    Directory = 1,
    /// <summary>Read a node's value.</summary>
    Read = 2,
    /// <summary>Read a node's permissions.</summary>
    GetPerms = 3,
    /// <summary>Register a watch.</summary>
    Watch = 4,
    /// <summary>Remove a watch.</summary>
    Unwatch = 5,
    /// <summary>Start a transaction.</summary>
    TransactionStart = 6,
    /// <summary>Commit (<c>T</c>) or abort (<c>F</c>) a transaction.</summary>
    TransactionEnd = 7,
    /// <summary>Dom0 tells the daemon about a new domain.</summary>
    Introduce = 8,
    /// <summary>Dom0 tells the daemon to forget a domain.</summary>
    Release = 9,
    /// <summary>Ask for <c>/local/domain/&lt;id&gt;</c>.</summary>
    GetDomainPath = 10,
    /// <summary>Write a node's value, creating missing parents.</summary>
    Write = 11,
    /// <summary>Create a node and missing parents.</summary>
    Mkdir = 12,
    /// <summary>Remove a node and everything below it.</summary>
    Rm = 13,
    /// <summary>Replace a node's permissions.</summary>
    SetPerms = 14,
    /// <summary>An unsolicited watch notification.</summary>
    WatchEvent = 15,
    /// <summary>An error reply carrying an errno name.</summary>
    Error = 16,
    /// <summary>Ask whether a domain was introduced.</summary>
    IsDomainIntroduced = 17,
    /// <summary>Dom0 re-arms <c>@releaseDomain</c> for a domain.</summary>
    Resume = 18,
    /// <summary>Dom0 lets one domain act for another (a device model for its guest).</summary>
    SetTarget = 19,
    /// <summary>Remove every watch and transaction of the connection.</summary>
    ResetWatches = 21,
    /// <summary>List a node's children from a byte offset, for long lists.</summary>
    DirectoryPart = 22,
}

/// <summary>Errors a daemon returns, named and numbered as <c>xs_wire.h</c>'s <c>xsd_errors</c> (Linux errno values).</summary>
/// <remarks>On the wire an error is a reply of type <see cref="XsMessageType.Error"/> whose payload is the name, e.g. <c>ENOENT\0</c>.</remarks>
public enum XsError
{
    /// <summary>Operation not permitted.</summary>
    EPERM = 1,
    /// <summary>No such node.</summary>
    ENOENT = 2,
    /// <summary>I/O error.</summary>
    EIO = 5,
    /// <summary>Too big (too many watches, a reply that does not fit).</summary>
    E2BIG = 7,
    /// <summary>Try again: a transaction conflicted.</summary>
    EAGAIN = 11,
    /// <summary>Out of memory.</summary>
    ENOMEM = 12,
    /// <summary>Permission denied.</summary>
    EACCES = 13,
    /// <summary>Busy.</summary>
    EBUSY = 16,
    /// <summary>Already exists.</summary>
    EEXIST = 17,
    /// <summary>Is a directory.</summary>
    EISDIR = 21,
    /// <summary>Invalid argument or malformed request.</summary>
    EINVAL = 22,
    /// <summary>Quota exceeded.</summary>
    ENOSPC = 28,
    /// <summary>Read-only.</summary>
    EROFS = 30,
    /// <summary>Unknown request type.</summary>
    ENOSYS = 38,
    /// <summary>Directory not empty.</summary>
    ENOTEMPTY = 39,
    /// <summary>Already connected.</summary>
    EISCONN = 106,
}

/// <summary>The 16-byte header of every Xenstore message (<c>struct xsd_sockmsg</c>), followed by <see cref="Len"/> payload bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct XsWireHeader
{
    /// <summary>The header's size in bytes.</summary>
    public const int Size = 16;

    /// <summary>The message type.</summary>
    public XsMessageType Type;
    /// <summary>Request id, echoed in the reply.</summary>
    public uint ReqId;
    /// <summary>Transaction id, 0 outside a transaction.</summary>
    public uint TxId;
    /// <summary>Payload length; at most <see cref="XsWire.PayloadMax"/>.</summary>
    public uint Len;

    /// <summary>Creates a header.</summary>
    public XsWireHeader(XsMessageType type, uint reqId, uint txId, uint len)
    {
        Type = type;
        ReqId = reqId;
        TxId = txId;
        Len = len;
    }

    /// <summary>Reads a header from the first 16 bytes of <paramref name="source"/> (little-endian).</summary>
    public static XsWireHeader Read(ReadOnlySpan<byte> source) => new(
        (XsMessageType)BinaryPrimitives.ReadUInt32LittleEndian(source),
        BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[12..]));

    /// <summary>Writes the header into the first 16 bytes of <paramref name="destination"/> (little-endian).</summary>
    public readonly void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)Type);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], ReqId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], TxId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], Len);
    }
}

/// <summary>Constants of <c>xs_wire.h</c> and the conventions around them.</summary>
public static class XsWire
{
    /// <summary><c>XENSTORE_PAYLOAD_MAX</c>: the largest payload in either direction.</summary>
    public const int PayloadMax = 4096;
    /// <summary><c>XENSTORE_ABS_PATH_MAX</c>: the longest absolute path.</summary>
    public const int AbsPathMax = 3072;
    /// <summary><c>XENSTORE_REL_PATH_MAX</c>: the longest path relative to a domain's home.</summary>
    public const int RelPathMax = 2048;

    /// <summary>The special watch path fired when dom0 introduces a domain.</summary>
    public const string IntroduceDomain = "@introduceDomain";
    /// <summary>The special watch path fired when a domain is released.</summary>
    public const string ReleaseDomain = "@releaseDomain";

    /// <summary>Linux's Xenstore device in a Xen domain, which forwards to the daemon (<see cref="XenstoreClient.OpenXenbus"/>).</summary>
    public const string XenbusDevicePath = "/dev/xen/xenbus";

    /// <summary>Where a client finds the daemon's socket: <c>$XENSTORED_PATH</c>, else <c>$XENSTORED_RUNDIR/socket</c>, else <c>/var/run/xenstored/socket</c>.</summary>
    public static string DefaultSocketPath
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("XENSTORED_PATH");
            if (!string.IsNullOrEmpty(path))
                return path;
            var rundir = Environment.GetEnvironmentVariable("XENSTORED_RUNDIR");
            return Path.Combine(string.IsNullOrEmpty(rundir) ? "/var/run/xenstored" : rundir, "socket");
        }
    }

    /// <summary>The home of a domain, under which its relative paths resolve: <c>/local/domain/&lt;id&gt;</c>.</summary>
    public static string DomainPath(uint domain) => "/local/domain/" + domain.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The wire name of an error (<c>ENOENT</c>).</summary>
    public static string Name(this XsError error) => error.ToString();

    /// <summary>Parses an error name from the wire; unknown names become <see cref="XsError.EIO"/>, as libxenstore does.</summary>
    public static XsError ParseError(ReadOnlySpan<byte> name)
    {
        var nul = name.IndexOf((byte)0);
        if (nul >= 0)
            name = name[..nul];
        Span<char> chars = stackalloc char[16];
        if (name.Length is 0 or > 16)
            return XsError.EIO;
        for (var i = 0; i < name.Length; i++)
            chars[i] = (char)name[i];
        return Enum.TryParse<XsError>(chars[..name.Length], out var e) && char.IsUpper(chars[0]) && Enum.IsDefined(e) ? e : XsError.EIO;
    }
}
