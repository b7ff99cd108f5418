namespace Xen.Gnt;

/// <summary>
/// A peer's granted pages mapped into this domain as one contiguous view. Disposing the mapping
/// (or <see cref="IMemory.Unmap"/>) unmaps it and fires its unmap notification.
/// </summary>
public abstract class Mapping : PageBuffer
{
    /// <summary>Creates the mapping's view; the backend owns the memory.</summary>
    protected Mapping(nint address, ushort remoteDomain, IReadOnlyList<GrantRef> refs, bool writable, UnmapNotify notify)
        : base(address, refs.Count, writable)
    {
        RemoteDomain = remoteDomain;
        Refs = refs;
        Notify = notify;
    }

    /// <summary>The domain that granted the pages.</summary>
    public ushort RemoteDomain { get; }

    /// <summary>The grant refs mapped, in page order.</summary>
    public IReadOnlyList<GrantRef> Refs { get; }

    /// <summary>What happens when this mapping goes away.</summary>
    public UnmapNotify Notify { get; }
}
