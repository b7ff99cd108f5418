using System.Buffers.Binary;

namespace Xen.Gnt.Unix;

/// <summary>
/// The 32-byte sidecar <c>gnt/&lt;ref&gt;.grant</c> that says who may map a page and how (see
/// <c>docs/unix-backend.md</c>). Its presence is the grant: the granter removes it to end the grant.
/// All fields little-endian.
/// </summary>
internal readonly record struct GrantMetadata(ushort GrantingDomain, ushort RemoteDomain, bool ReadOnly, uint GranterPid, int NotifyOffset)
{
    public const int Size = 32;

    /// <summary>"XGNT" read as a little-endian <c>u32</c>.</summary>
    public const uint Magic = 0x544E4758;

    public const ushort Version = 1;

    /// <summary>Xen's <c>GTF_readonly</c>: the grant may only be mapped read-only.</summary>
    public const ushort GTF_readonly = 4;

    public void Write(Span<byte> m)
    {
        m[..Size].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(m, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(m[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(m[6..], GrantingDomain);
        BinaryPrimitives.WriteUInt16LittleEndian(m[8..], RemoteDomain);
        BinaryPrimitives.WriteUInt16LittleEndian(m[10..], ReadOnly ? GTF_readonly : (ushort)0);
        BinaryPrimitives.WriteUInt32LittleEndian(m[12..], GranterPid);
        BinaryPrimitives.WriteInt32LittleEndian(m[16..], NotifyOffset);
    }

    public static bool TryRead(ReadOnlySpan<byte> m, out GrantMetadata metadata)
    {
        metadata = default;
        if (m.Length < Size || BinaryPrimitives.ReadUInt32LittleEndian(m) != Magic || BinaryPrimitives.ReadUInt16LittleEndian(m[4..]) != Version)
            return false;
        var offset = BinaryPrimitives.ReadInt32LittleEndian(m[16..]);
        if (offset is < -1 or >= Xen.Gnt.PageBuffer.PageSize)
            return false;
        metadata = new GrantMetadata(
            BinaryPrimitives.ReadUInt16LittleEndian(m[6..]),
            BinaryPrimitives.ReadUInt16LittleEndian(m[8..]),
            (BinaryPrimitives.ReadUInt16LittleEndian(m[10..]) & GTF_readonly) != 0,
            BinaryPrimitives.ReadUInt32LittleEndian(m[12..]),
            offset);
        return true;
    }
}
