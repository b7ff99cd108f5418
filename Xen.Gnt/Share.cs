namespace Xen.Gnt;

/// <summary>
/// Pages this domain shares with one named peer: the local view, and the grant refs to publish.
/// Disposing the share (or <see cref="IMemory.Unshare"/>) ends it: refs the peer still maps stay
/// valid for the peer until it unmaps, and are not reused before then, as in Xen.
/// </summary>
public abstract class Share : PageBuffer
{
    /// <summary>Creates the share's view, which is always writable here; the backend owns the memory.</summary>
    /// <param name="address">The first page of the local view.</param>
    /// <param name="remoteDomain">The only domain that may map the pages.</param>
    /// <param name="refs">One grant ref per page.</param>
    /// <param name="writable">Whether the peer may map the pages writable.</param>
    /// <param name="notify">What happens when the share goes away.</param>
    protected Share(nint address, ushort remoteDomain, IReadOnlyList<GrantRef> refs, bool writable, UnmapNotify notify)
        : base(address, refs.Count, writable: true)
    {
        RemoteDomain = remoteDomain;
        Refs = refs;
        PeerWritable = writable;
        Notify = notify;
    }

    /// <summary>The only domain that may map the pages.</summary>
    public ushort RemoteDomain { get; }

    /// <summary>Whether the peer may map the pages writable; the local view always is.</summary>
    public bool PeerWritable { get; }

    /// <summary>One grant ref per page, in page order.</summary>
    public IReadOnlyList<GrantRef> Refs { get; }

    /// <summary>What happens when this share goes away.</summary>
    public UnmapNotify Notify { get; }
}
