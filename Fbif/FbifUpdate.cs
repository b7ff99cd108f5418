using System.Buffers.Binary;

namespace Fbif;

/// <summary><c>struct xenfb_update</c>: the frontend changed a rectangle (type at 0; x, y, width, height at 4, 8, 12, 16).</summary>
public readonly record struct FbifUpdate(int X, int Y, int Width, int Height)
{
    /// <summary>Writes the event into a 40-byte slot image.</summary>
    public void Write(Span<byte> evt)
    {
        evt[..FbifConstants.EventSize].Clear();
        evt[0] = FbifConstants.TypeUpdate;
        BinaryPrimitives.WriteInt32LittleEndian(evt[4..], X);
        BinaryPrimitives.WriteInt32LittleEndian(evt[8..], Y);
        BinaryPrimitives.WriteInt32LittleEndian(evt[12..], Width);
        BinaryPrimitives.WriteInt32LittleEndian(evt[16..], Height);
    }

    /// <summary>Reads the event from a copied slot.</summary>
    public static FbifUpdate Read(ReadOnlySpan<byte> evt) => new(
        BinaryPrimitives.ReadInt32LittleEndian(evt[4..]), BinaryPrimitives.ReadInt32LittleEndian(evt[8..]),
        BinaryPrimitives.ReadInt32LittleEndian(evt[12..]), BinaryPrimitives.ReadInt32LittleEndian(evt[16..]));

    /// <summary>The rectangle.</summary>
    public FramebufferRect Rect => new(X, Y, Width, Height);
}
