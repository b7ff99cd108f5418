namespace Xen.Gnt.InHeap;

/// <summary>
/// One domain's grant table on an <see cref="InHeapGrantHub"/>. A small struct over the domain's
/// state, so that drivers generic over <c>TMemory</c> are specialised for it by the JIT.
/// </summary>
/// <remarks>
/// Obtain it with <see cref="InHeapGrantHub.Open"/>. Copies share the same domain; disposing any
/// copy unmaps and unshares everything the domain holds, firing the unmap notifications.
/// </remarks>
public readonly struct InHeapMemory : IMemory
{
    private readonly GrantDomain? _domain;

    internal InHeapMemory(GrantDomain domain) => _domain = domain;

    private GrantDomain Domain => _domain ?? throw new InvalidOperationException("This InHeapMemory was not obtained from InHeapGrantHub.Open.");

    /// <inheritdoc />
    public ushort LocalDomain => Domain.Id;

    /// <summary>Whether the domain has been disposed or killed.</summary>
    public bool IsDisposed => Domain.Dead;

    /// <inheritdoc />
    public Share Share(ushort remoteDomain, int pageCount, bool writable, UnmapNotify notify = default) =>
        Domain.Hub.Share(Domain, remoteDomain, pageCount, writable, notify);

    /// <inheritdoc />
    public Mapping Map(ushort remoteDomain, GrantRef grant, bool writable, UnmapNotify notify = default) =>
        Domain.Hub.Map(Domain, remoteDomain, new ReadOnlySpan<GrantRef>(in grant), writable, notify);

    /// <inheritdoc />
    public Mapping MapMany(ushort remoteDomain, ReadOnlySpan<GrantRef> grants, bool writable, UnmapNotify notify = default) =>
        Domain.Hub.Map(Domain, remoteDomain, grants, writable, notify);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The mapping is not this domain's.</exception>
    public void Unmap(Mapping mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        if (mapping is not InHeapMapping mine || mine.Mapper != Domain)
            throw new ArgumentException($"The mapping does not belong to domain {Domain.Id} on this hub.", nameof(mapping));
        mapping.Dispose();
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The share is not this domain's.</exception>
    public void Unshare(Share share)
    {
        ArgumentNullException.ThrowIfNull(share);
        if (share is not InHeapShare mine || mine.Owner != Domain)
            throw new ArgumentException($"The share does not belong to domain {Domain.Id} on this hub.", nameof(share));
        share.Dispose();
    }

    /// <summary>Unmaps and unshares everything the domain holds and leaves the hub, as <see cref="InHeapGrantHub.Kill"/> does; the domain may then be opened again.</summary>
    public void Dispose()
    {
        if (_domain is not null)
            _domain.Hub.Close(_domain);
    }

    /// <inheritdoc />
    public override string ToString() => _domain is null ? "in-heap memory (not opened)" : $"in-heap memory of domain {_domain.Id}";
}
