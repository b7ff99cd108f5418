using System.Buffers.Binary;

namespace Fbif;

/// <summary>Rows of a framebuffer's pixels (8, 16, 24 or 32 bits) turned into 32-bit <c>0x00RRGGBB</c>.</summary>
internal static class PixelFormatConversion
{
    /// <summary>Converts one row of <paramref name="width"/> pixels.</summary>
    public static void Row(ReadOnlySpan<byte> source, int depth, int width, Span<byte> destination)
    {
        var output = destination[..(width * 4)];
        switch (depth)
        {
            case 32:
                source[..(width * 4)].CopyTo(output);
                for (var x = 0; x < width; x++)
                    output[x * 4 + 3] = 0;
                break;
            case 24:
                for (var x = 0; x < width; x++)
                {
                    output[x * 4] = source[x * 3];
                    output[x * 4 + 1] = source[x * 3 + 1];
                    output[x * 4 + 2] = source[x * 3 + 2];
                    output[x * 4 + 3] = 0;
                }
                break;
            case 16:
                // RGB565, the layout Linux's fbdev uses at 16 bits.
                for (var x = 0; x < width; x++)
                {
                    var p = BinaryPrimitives.ReadUInt16LittleEndian(source[(x * 2)..]);
                    output[x * 4] = (byte)((p & 0x1F) * 255 / 31);
                    output[x * 4 + 1] = (byte)(((p >> 5) & 0x3F) * 255 / 63);
                    output[x * 4 + 2] = (byte)((p >> 11) * 255 / 31);
                    output[x * 4 + 3] = 0;
                }
                break;
            default:
                // 8 bits: the palette is the guest's, which the protocol does not carry; show grey levels.
                for (var x = 0; x < width; x++)
                {
                    var v = source[x];
                    output[x * 4] = v;
                    output[x * 4 + 1] = v;
                    output[x * 4 + 2] = v;
                    output[x * 4 + 3] = 0;
                }
                break;
        }
    }
}
