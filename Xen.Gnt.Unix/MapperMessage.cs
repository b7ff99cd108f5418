using System.Buffers.Binary;

namespace Xen.Gnt.Unix;

/// <summary>
/// The 16-byte messages a mapper sends on its connection to the granting process's <c>gnt-&lt;pid&gt;</c>
/// socket: MAP when it maps (with the byte to clear if it dies), UNMAP when it unmaps cleanly. A
/// connection that ends without UNMAP means the mapper died. All fields little-endian.
/// </summary>
internal readonly record struct MapperMessage(ushort Type, ushort MapperDomain, uint NotifyRef, int NotifyOffset)
{
    public const int Size = 16;

    /// <summary>"XGNM" read as a little-endian <c>u32</c>.</summary>
    public const uint Magic = 0x4D4E4758;

    public const ushort Map = 1;
    public const ushort Unmap = 2;

    /// <summary>The <see cref="NotifyRef"/> of a mapping with no byte to clear in this granter's pages.</summary>
    public const uint NoRef = uint.MaxValue;

    public void Write(Span<byte> m)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(m, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(m[4..], Type);
        BinaryPrimitives.WriteUInt16LittleEndian(m[6..], MapperDomain);
        BinaryPrimitives.WriteUInt32LittleEndian(m[8..], NotifyRef);
        BinaryPrimitives.WriteInt32LittleEndian(m[12..], NotifyOffset);
    }

    public static bool TryRead(ReadOnlySpan<byte> m, out MapperMessage message)
    {
        message = default;
        if (m.Length != Size || BinaryPrimitives.ReadUInt32LittleEndian(m) != Magic)
            return false;
        message = new MapperMessage(
            BinaryPrimitives.ReadUInt16LittleEndian(m[4..]),
            BinaryPrimitives.ReadUInt16LittleEndian(m[6..]),
            BinaryPrimitives.ReadUInt32LittleEndian(m[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(m[12..]));
        return message.Type is Map or Unmap;
    }
}
