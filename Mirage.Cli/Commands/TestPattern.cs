using System.Buffers.Binary;
using Fbif;

namespace Mirage.Cli.Commands;

/// <summary>What <c>mirage fbfront</c> draws: colour bars, a grey ramp, and a clock in a 3x5 pixel font scaled up.</summary>
internal static class TestPattern
{
    /// <summary>The eight bars, left to right: white, yellow, cyan, green, magenta, red, blue, black.</summary>
    public static readonly uint[] Bars = [0xFFFFFF, 0xFFFF00, 0x00FFFF, 0x00FF00, 0xFF00FF, 0xFF0000, 0x0000FF, 0x000000];

    // Digits 0-9 and ':' as five rows of three bits.
    private static readonly ushort[][] Glyphs =
    [
        [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
        [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 1, 1], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7], [0, 2, 0, 2, 0],
    ];

    public const int Scale = 8;

    /// <summary>The colour bars over the top two thirds, a grey ramp below.</summary>
    public static void Draw(Span<byte> pixels, FramebufferGeometry g)
    {
        for (var y = 0; y < g.Height; y++)
        {
            var row = pixels.Slice(y * g.LineLength, g.Width * 4);
            for (var x = 0; x < g.Width; x++)
            {
                var colour = y < g.Height * 2 / 3 ? Bars[x * Bars.Length / g.Width] : (uint)(x * 255 / Math.Max(1, g.Width - 1)) * 0x010101u;
                BinaryPrimitives.WriteUInt32LittleEndian(row[(x * 4)..], colour);
            }
        }
    }

    /// <summary>Where the clock goes: centred in the ramp band.</summary>
    public static FramebufferRect ClockRect(FramebufferGeometry g)
    {
        var width = 8 * 4 * Scale;
        var height = 7 * Scale;
        return new FramebufferRect(Math.Max(0, (g.Width - width) / 2), Math.Max(0, g.Height * 5 / 6 - height / 2), Math.Min(width, g.Width), Math.Min(height, g.Height));
    }

    /// <summary>Draws <paramref name="text"/> (digits and colons) white on black in <see cref="ClockRect"/>.</summary>
    public static FramebufferRect DrawClock(Span<byte> pixels, FramebufferGeometry g, string text)
    {
        var box = ClockRect(g);
        for (var y = box.Y; y < box.Y + box.Height; y++)
            pixels.Slice(y * g.LineLength + box.X * 4, box.Width * 4).Clear();
        for (var i = 0; i < text.Length; i++)
        {
            var glyph = Glyphs[text[i] == ':' ? 10 : text[i] - '0'];
            for (var gy = 0; gy < 5; gy++)
            {
                for (var gx = 0; gx < 3; gx++)
                {
                    if ((glyph[gy] >> (2 - gx) & 1) == 0)
                        continue;
                    for (var sy = 0; sy < Scale; sy++)
                    {
                        for (var sx = 0; sx < Scale; sx++)
                        {
                            var x = box.X + Scale / 2 + (i * 4 + gx) * Scale + sx;
                            var y = box.Y + Scale + gy * Scale + sy;
                            if (x < box.X + box.Width && y < box.Y + box.Height)
                                BinaryPrimitives.WriteUInt32LittleEndian(pixels[(y * g.LineLength + x * 4)..], 0xFFFFFF);
                        }
                    }
                }
            }
        }
        return box;
    }
}
