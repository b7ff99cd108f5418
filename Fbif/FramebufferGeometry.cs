namespace Fbif;

/// <summary>
/// A framebuffer's shape: what <c>struct xenfb_page</c> says at connection (<c>width</c>, <c>height</c>,
/// <c>line_length</c>, <c>depth</c>) and a resize event says later (with <c>offset</c>).
/// </summary>
/// <param name="Width">Pixels per row.</param>
/// <param name="Height">Rows.</param>
/// <param name="LineLength">Bytes per row (the stride).</param>
/// <param name="Depth">Bits per pixel: 8, 16, 24 or 32.</param>
/// <param name="Offset">Where the first row starts in the framebuffer memory.</param>
public readonly record struct FramebufferGeometry(int Width, int Height, int LineLength, int Depth, int Offset = 0)
{
    /// <summary>Bytes per pixel.</summary>
    public int BytesPerPixel => Depth / 8;

    /// <summary>Checks a (possibly hostile) peer's geometry against the memory it lives in.</summary>
    /// <exception cref="InvalidDataException">A value is out of range or the pixels pass <paramref name="memLength"/>.</exception>
    public void Validate(long memLength)
    {
        if (Width <= 0 || Height <= 0)
            throw new InvalidDataException($"A {Width}x{Height} framebuffer has no pixels.");
        if (Depth is not (8 or 16 or 24 or 32))
            throw new InvalidDataException($"depth {Depth} is not 8, 16, 24 or 32 bits.");
        if ((long)Width * BytesPerPixel > LineLength)
            throw new InvalidDataException($"line_length {LineLength} is shorter than {Width} pixels of {Depth} bits.");
        if (Offset < 0 || Offset + (long)LineLength * Height > memLength)
            throw new InvalidDataException($"{Height} rows of {LineLength} bytes from offset {Offset} pass the framebuffer's {memLength} bytes.");
    }

    /// <inheritdoc />
    public override string ToString() => $"{Width}x{Height}x{Depth} (stride {LineLength}, offset {Offset})";
}
