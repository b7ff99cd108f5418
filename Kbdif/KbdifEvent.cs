using System.Buffers.Binary;

namespace Kbdif;

/// <summary>
/// One backend-to-frontend event of <c>kbdif.h</c>: <c>struct xenkbd_key</c> (pressed at 1, keycode at 4),
/// <c>struct xenkbd_motion</c> (rel_x, rel_y, rel_z at 4, 8, 12) or <c>struct xenkbd_position</c>
/// (abs_x, abs_y, rel_z at 4, 8, 12).
/// </summary>
public readonly record struct KbdifEvent(byte Type, bool Pressed, uint Keycode, int X, int Y, int Z)
{
    /// <summary>A key (or button) going down or up.</summary>
    public static KbdifEvent Key(uint keycode, bool pressed) => new(KbdifConstants.TypeKey, pressed, keycode, 0, 0, 0);

    /// <summary>A relative movement, with the wheel in <paramref name="z"/>.</summary>
    public static KbdifEvent Motion(int x, int y, int z = 0) => new(KbdifConstants.TypeMotion, false, 0, x, y, z);

    /// <summary>An absolute position in pixels, with the wheel in <paramref name="z"/>.</summary>
    public static KbdifEvent Position(int x, int y, int z = 0) => new(KbdifConstants.TypePosition, false, 0, x, y, z);

    /// <summary>Writes the event into a 40-byte slot image.</summary>
    public void Write(Span<byte> evt)
    {
        evt[..KbdifConstants.EventSize].Clear();
        evt[0] = Type;
        if (Type == KbdifConstants.TypeKey)
        {
            evt[1] = Pressed ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteUInt32LittleEndian(evt[4..], Keycode);
            return;
        }
        BinaryPrimitives.WriteInt32LittleEndian(evt[4..], X);
        BinaryPrimitives.WriteInt32LittleEndian(evt[8..], Y);
        BinaryPrimitives.WriteInt32LittleEndian(evt[12..], Z);
    }

    /// <summary>Reads an event from a copied slot; an unknown type keeps only its type.</summary>
    public static KbdifEvent Read(ReadOnlySpan<byte> evt) => evt[0] switch
    {
        KbdifConstants.TypeKey => Key(BinaryPrimitives.ReadUInt32LittleEndian(evt[4..]), evt[1] != 0),
        KbdifConstants.TypeMotion or KbdifConstants.TypePosition => new(evt[0], false, 0,
            BinaryPrimitives.ReadInt32LittleEndian(evt[4..]), BinaryPrimitives.ReadInt32LittleEndian(evt[8..]), BinaryPrimitives.ReadInt32LittleEndian(evt[12..])),
        _ => new(evt[0], false, 0, 0, 0, 0),
    };
}
