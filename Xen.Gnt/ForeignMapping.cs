namespace Xen.Gnt;

/// <summary>Another domain's frames mapped into this domain as one contiguous view; disposing it unmaps them.</summary>
public abstract class ForeignMapping : PageBuffer
{
    /// <summary>Wraps the view at <paramref name="address"/>, which the backend owns.</summary>
    protected ForeignMapping(nint address, ushort remoteDomain, IReadOnlyList<ulong> frames, bool writable)
        : base(address, frames.Count, writable)
    {
        RemoteDomain = remoteDomain;
        Frames = frames;
    }

    /// <summary>The domain that owns the frames.</summary>
    public ushort RemoteDomain { get; }

    /// <summary>The frames mapped, in page order.</summary>
    public IReadOnlyList<ulong> Frames { get; }
}
