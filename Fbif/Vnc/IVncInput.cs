namespace Fbif.Vnc;

/// <summary>Where a VNC client's keyboard and pointer go: the keyboard backend, for one.</summary>
public interface IVncInput
{
    /// <summary>A key went down or up (<c>KeyEvent</c>, an X keysym).</summary>
    ValueTask KeyAsync(bool down, uint keysym, CancellationToken cancellationToken);

    /// <summary>The pointer is at (<paramref name="x"/>, <paramref name="y"/>) with <paramref name="buttons"/> held (<c>PointerEvent</c>: bit 0 left, 1 middle, 2 right, 3 and 4 the wheel).</summary>
    ValueTask PointerAsync(byte buttons, int x, int y, CancellationToken cancellationToken);
}
