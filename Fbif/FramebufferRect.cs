namespace Fbif;

/// <summary>A rectangle of the screen: an update's area, or the union of several.</summary>
public readonly record struct FramebufferRect(int X, int Y, int Width, int Height)
{
    /// <summary>Whether the rectangle covers no pixel.</summary>
    public bool IsEmpty => Width <= 0 || Height <= 0;

    /// <summary>The smallest rectangle covering both; an empty one counts for nothing.</summary>
    public FramebufferRect Union(FramebufferRect other)
    {
        if (IsEmpty)
            return other;
        if (other.IsEmpty)
            return this;
        var x = Math.Min(X, other.X);
        var y = Math.Min(Y, other.Y);
        return new FramebufferRect(x, y, Math.Max(X + Width, other.X + other.Width) - x, Math.Max(Y + Height, other.Y + other.Height) - y);
    }

    /// <summary>The part inside a <paramref name="width"/> by <paramref name="height"/> screen; computed in 64 bits, so no peer's numbers overflow it.</summary>
    public FramebufferRect Clip(int width, int height)
    {
        var x0 = Math.Clamp((long)X, 0, width);
        var y0 = Math.Clamp((long)Y, 0, height);
        var x1 = Math.Clamp((long)X + Width, 0, width);
        var y1 = Math.Clamp((long)Y + Height, 0, height);
        return x1 <= x0 || y1 <= y0 ? default : new FramebufferRect((int)x0, (int)y0, (int)(x1 - x0), (int)(y1 - y0));
    }
}
