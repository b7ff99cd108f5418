namespace Xen.Gnt;

/// <summary>
/// Shared memory between domains, after Xen's grant tables: a domain shares pages with one named
/// peer and publishes their grant refs; the peer maps them. The views are
/// <see cref="PageBuffer"/>s: page-aligned memory that never moves.
/// </summary>
/// <remarks>
/// <para>Drivers are generic over the backend (<c>Driver&lt;TMemory&gt; where TMemory : IMemory</c>),
/// so the program that composes them chooses in-heap, Unix, xenctrl or Xen guest memory.</para>
/// <para>Xen's rules hold in every backend: refs 0..7 are never handed out; a grant maps only from
/// the domain it names; a read-only grant never maps writable; failures are
/// <see cref="GrantException"/>s carrying Xen's <see cref="GrantStatus"/>.</para>
/// <para>Implementations are thread-safe.</para>
/// </remarks>
public interface IMemory : IDisposable
{
    /// <summary>The domain this backend acts as.</summary>
    ushort LocalDomain { get; }

    /// <summary>
    /// Shares <paramref name="pageCount"/> new zeroed pages with <paramref name="remoteDomain"/>.
    /// </summary>
    /// <param name="remoteDomain">The only domain that may map them.</param>
    /// <param name="pageCount">How many pages.</param>
    /// <param name="writable">Whether the peer may map them writable.</param>
    /// <param name="notify">What to do when this share goes away, including when this process dies.</param>
    /// <exception cref="GrantException">No refs or memory are left (<see cref="GrantStatus.NoSpace"/>).</exception>
    Share Share(ushort remoteDomain, int pageCount, bool writable, UnmapNotify notify = default);

    /// <summary>Maps one page that <paramref name="remoteDomain"/> granted to this domain.</summary>
    /// <param name="remoteDomain">The granting domain.</param>
    /// <param name="grant">The grant ref it published.</param>
    /// <param name="writable">Whether to map writable; the grant must allow it.</param>
    /// <param name="notify">What to do when the mapping goes away, including when this process dies.</param>
    /// <exception cref="GrantException">The ref is not granted to this domain
    /// (<see cref="GrantStatus.BadGntref"/>, <see cref="GrantStatus.PermissionDenied"/>) or the domain is unknown
    /// (<see cref="GrantStatus.BadDomain"/>). Where the status comes from a real hypervisor or kernel it is
    /// theirs: Xen answers a grant that names another domain, or a writable map of a read-only grant, with
    /// <see cref="GrantStatus.GeneralError"/>, and Linux's gntdev does not say which.</exception>
    Mapping Map(ushort remoteDomain, GrantRef grant, bool writable, UnmapNotify notify = default);

    /// <summary>Maps several pages that <paramref name="remoteDomain"/> granted as one contiguous view, in the order given.</summary>
    /// <exception cref="GrantException">One of the refs cannot be mapped; none is then mapped.</exception>
    Mapping MapMany(ushort remoteDomain, ReadOnlySpan<GrantRef> grants, bool writable, UnmapNotify notify = default);

    /// <summary>Unmaps <paramref name="mapping"/> and fires its notification; the same as disposing it.</summary>
    void Unmap(Mapping mapping);

    /// <summary>Ends <paramref name="share"/>; the same as disposing it.</summary>
    void Unshare(Share share);
}
