namespace Xen.Gnt;

/// <summary>Pages of this domain's own memory with their frame numbers; disposing them gives the memory back.</summary>
public abstract class FramePages : PageBuffer
{
    /// <summary>Wraps the pages at <paramref name="address"/>, which the backend owns.</summary>
    protected FramePages(nint address, IReadOnlyList<ulong> frames)
        : base(address, frames.Count, writable: true) => Frames = frames;

    /// <summary>Each page's frame number, in page order.</summary>
    public IReadOnlyList<ulong> Frames { get; }
}
