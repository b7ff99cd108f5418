using System.Buffers.Binary;

namespace Fbif.Vnc;

/// <summary>RFC 6143 7.4 <c>PIXEL_FORMAT</c> (16 bytes): how the client wants its pixels.</summary>
public readonly record struct RfbPixelFormat(byte BitsPerPixel, byte Depth, bool BigEndian, bool TrueColour,
    ushort RedMax, ushort GreenMax, ushort BlueMax, byte RedShift, byte GreenShift, byte BlueShift)
{
    /// <summary>What the server offers: 32 bits, 24 deep, little-endian <c>0x00RRGGBB</c>.</summary>
    public static RfbPixelFormat Default => new(32, 24, false, true, 255, 255, 255, 16, 8, 0);

    /// <summary>Bytes per pixel.</summary>
    public int BytesPerPixel => BitsPerPixel / 8;

    /// <summary>Writes the 16 bytes.</summary>
    public void Write(Span<byte> buffer)
    {
        buffer[..16].Clear();
        buffer[0] = BitsPerPixel;
        buffer[1] = Depth;
        buffer[2] = BigEndian ? (byte)1 : (byte)0;
        buffer[3] = TrueColour ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], RedMax);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], GreenMax);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[8..], BlueMax);
        buffer[10] = RedShift;
        buffer[11] = GreenShift;
        buffer[12] = BlueShift;
    }

    /// <summary>Reads the 16 bytes.</summary>
    public static RfbPixelFormat Read(ReadOnlySpan<byte> buffer) => new(buffer[0], buffer[1], buffer[2] != 0, buffer[3] != 0,
        BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]), BinaryPrimitives.ReadUInt16BigEndian(buffer[6..]), BinaryPrimitives.ReadUInt16BigEndian(buffer[8..]),
        buffer[10], buffer[11], buffer[12]);

    /// <summary>Checks a client's choice: true colour at 8, 16 or 32 bits, shifts that fit.</summary>
    /// <exception cref="InvalidDataException">The server cannot produce it.</exception>
    public void Validate()
    {
        if (BitsPerPixel is not (8 or 16 or 32))
            throw new InvalidDataException($"bits-per-pixel {BitsPerPixel} is not 8, 16 or 32.");
        if (!TrueColour)
            throw new InvalidDataException("Colour maps are not served; ask for true colour.");
        if (RedMax == 0 || GreenMax == 0 || BlueMax == 0 || RedShift >= BitsPerPixel || GreenShift >= BitsPerPixel || BlueShift >= BitsPerPixel)
            throw new InvalidDataException("A colour's maximum is 0 or its shift passes the pixel.");
    }

    /// <summary>Converts <c>0x00RRGGBB</c> pixels into this format.</summary>
    public void Convert(ReadOnlySpan<byte> pixels, Span<byte> destination)
    {
        var count = pixels.Length / 4;
        if (this == Default)
        {
            pixels.CopyTo(destination);
            return;
        }
        var bytes = BytesPerPixel;
        for (var i = 0; i < count; i++)
        {
            var p = BinaryPrimitives.ReadUInt32LittleEndian(pixels[(i * 4)..]);
            uint r = (p >> 16) & 0xFF, g = (p >> 8) & 0xFF, b = p & 0xFF;
            var v = ((r * RedMax + 127) / 255 << RedShift) | ((g * GreenMax + 127) / 255 << GreenShift) | ((b * BlueMax + 127) / 255 << BlueShift);
            var slot = destination.Slice(i * bytes, bytes);
            switch (bytes)
            {
                case 1:
                    slot[0] = (byte)v;
                    break;
                case 2:
                    if (BigEndian) BinaryPrimitives.WriteUInt16BigEndian(slot, (ushort)v); else BinaryPrimitives.WriteUInt16LittleEndian(slot, (ushort)v);
                    break;
                default:
                    if (BigEndian) BinaryPrimitives.WriteUInt32BigEndian(slot, v); else BinaryPrimitives.WriteUInt32LittleEndian(slot, v);
                    break;
            }
        }
    }
}
