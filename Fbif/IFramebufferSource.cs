namespace Fbif;

/// <summary>
/// A screen someone can look at: its mode, its pixels on request, and word when they change. The
/// framebuffer backend is one; the VNC server shows any.
/// </summary>
/// <remarks>Events are raised on the source's own thread; handlers must be quick and must not throw.</remarks>
public interface IFramebufferSource
{
    /// <summary>The current mode; default when nothing is connected.</summary>
    FramebufferGeometry Geometry { get; }

    /// <summary>
    /// Copies <paramref name="rect"/> (clipped to the screen) into <paramref name="destination"/> as
    /// 32-bit pixels, <c>0x00RRGGBB</c> little-endian, rows packed.
    /// </summary>
    /// <returns>The rectangle copied (empty when nothing is connected or the rectangle is off screen).</returns>
    FramebufferRect CopyPixels(FramebufferRect rect, Span<byte> destination);

    /// <summary>Part of the screen changed.</summary>
    event Action<FramebufferRect>? Damaged;

    /// <summary>The mode changed (and the whole screen with it).</summary>
    event Action<FramebufferGeometry>? Resized;
}
