using System.Buffers.Binary;

namespace Fbif;

/// <summary><c>struct xenfb_resize</c>: the frontend changed its mode (width, height, stride, depth, offset at 4, 8, 12, 16, 20).</summary>
public readonly record struct FbifResize(int Width, int Height, int Stride, int Depth, int Offset)
{
    /// <summary>Writes the event into a 40-byte slot image.</summary>
    public void Write(Span<byte> evt)
    {
        evt[..FbifConstants.EventSize].Clear();
        evt[0] = FbifConstants.TypeResize;
        BinaryPrimitives.WriteInt32LittleEndian(evt[4..], Width);
        BinaryPrimitives.WriteInt32LittleEndian(evt[8..], Height);
        BinaryPrimitives.WriteInt32LittleEndian(evt[12..], Stride);
        BinaryPrimitives.WriteInt32LittleEndian(evt[16..], Depth);
        BinaryPrimitives.WriteInt32LittleEndian(evt[20..], Offset);
    }

    /// <summary>Reads the event from a copied slot.</summary>
    public static FbifResize Read(ReadOnlySpan<byte> evt) => new(
        BinaryPrimitives.ReadInt32LittleEndian(evt[4..]), BinaryPrimitives.ReadInt32LittleEndian(evt[8..]),
        BinaryPrimitives.ReadInt32LittleEndian(evt[12..]), BinaryPrimitives.ReadInt32LittleEndian(evt[16..]),
        BinaryPrimitives.ReadInt32LittleEndian(evt[20..]));

    /// <summary>The geometry it asks for.</summary>
    public FramebufferGeometry Geometry => new(Width, Height, Stride, Depth, Offset);
}
