using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Mirage.Cli.Vnc;

/// <summary>
/// Writes an RGB image as a PNG (ISO/IEC 15948: signature, IHDR, one IDAT of zlib-compressed rows
/// with filter 0, IEND; each chunk's CRC-32 over its type and data), with no image library.
/// </summary>
internal static class PngEncoder
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Encodes <paramref name="pixels"/>: <paramref name="width"/> times <paramref name="height"/> pixels of 32 bits, <c>0x00RRGGBB</c> little-endian.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height)
    {
        var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bits per sample
        header[9] = 2; // colour type: RGB
        Chunk(output, "IHDR", header);
        var rows = new MemoryStream();
        using (var zlib = new ZLibStream(rows, CompressionLevel.Optimal, leaveOpen: true))
        {
            var row = new byte[1 + width * 3];
            for (var y = 0; y < height; y++)
            {
                var source = pixels.Slice(y * width * 4, width * 4);
                for (var x = 0; x < width; x++)
                {
                    row[1 + x * 3] = source[x * 4 + 2];
                    row[2 + x * 3] = source[x * 4 + 1];
                    row[3 + x * 3] = source[x * 4];
                }
                zlib.Write(row);
            }
        }
        Chunk(output, "IDAT", rows.ToArray());
        Chunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void Chunk(Stream output, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        var crc = Crc32(0xFFFFFFFFu, typeBytes);
        crc = Crc32(crc, data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        output.Write(word);
    }

    internal static uint Crc32(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
