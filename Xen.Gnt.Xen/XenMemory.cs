namespace Xen.Gnt.Xen;

/// <summary>
/// <see cref="IMemory"/> as a guest kernel implements it on Xen: shares are <see cref="GrantEntryV1"/>
/// entries in this domain's grant table, mappings are <c>GNTTABOP_map_grant_ref</c> hypercalls.
/// </summary>
/// <remarks>
/// <para>The host supplies the hypercall transport (<see cref="IGrantTableHypercalls"/>) and the
/// memory manager (<see cref="IGuestMemory"/>). The table is sized once with
/// <c>GNTTABOP_setup_table</c>; refs 0..7 are never handed out.</para>
/// <para>Ending a share never tears down a grant the peer still maps (Xen has set
/// <c>GTF_reading</c> or <c>GTF_writing</c>): such a grant stays valid, with its page, and its ref off
/// the free list, until a later <see cref="ReclaimDeferred"/> (also tried on every
/// <see cref="Share"/>) finds it idle, as Linux's deferred end-foreign-access does.
/// <see cref="DeferredGrantCount"/> reports them.</para>
/// <para>Unmap notifications are carried out by this guest itself when a share or mapping is
/// disposed: clear the byte, then (through the <c>sendEvent</c> hook, e.g. <c>XenEvents.Send</c>)
/// notify the port. Xen has no notification of its own: if this whole domain dies, peers learn it from
/// their event channels turning unbound, not from the byte.</para>
/// <para>A struct over internal state: copies share the same grant table.</para>
/// </remarks>
public readonly struct XenMemory : IMemory
{
    private readonly GrantTable _table;

    /// <summary>Sets up this guest's grant table.</summary>
    /// <param name="hypercalls">The host's grant-table hypercall.</param>
    /// <param name="memory">The host's memory manager.</param>
    /// <param name="localDomain">This domain's id.</param>
    /// <param name="grantFrames">How many frames of 512 entries the grant table has.</param>
    /// <param name="sendEvent">Sends an event on a local port, for unmap notifications that ask for one. An
    /// <see cref="IOException"/> from it (the port is already closed) skips the event.</param>
    /// <exception cref="GrantException"><c>GNTTABOP_setup_table</c> failed.</exception>
    public XenMemory(IGrantTableHypercalls hypercalls, IGuestMemory memory, ushort localDomain, int grantFrames = 4, Action<uint>? sendEvent = null)
        => _table = new GrantTable(hypercalls, memory, localDomain, grantFrames, sendEvent);

    private GrantTable Table => _table ?? throw new InvalidOperationException("This XenMemory was not created with its constructor.");

    /// <inheritdoc />
    public ushort LocalDomain => Table.LocalDomain;

    /// <summary>How many grant refs the table holds, reserved ones included.</summary>
    public int GrantCapacity => Table.Capacity;

    /// <summary>How many refs are free to share.</summary>
    public int FreeGrantCount => Table.FreeCount;

    /// <summary>How many grants of ended shares a peer still maps, kept until it unmaps.</summary>
    public int DeferredGrantCount => Table.DeferredCount;

    /// <inheritdoc />
    public Share Share(ushort remoteDomain, int pageCount, bool writable, UnmapNotify notify = default)
        => Table.Share(remoteDomain, pageCount, writable, notify);

    /// <inheritdoc />
    public Mapping Map(ushort remoteDomain, GrantRef grant, bool writable, UnmapNotify notify = default)
        => Table.Map(remoteDomain, [grant], writable, notify);

    /// <inheritdoc />
    public Mapping MapMany(ushort remoteDomain, ReadOnlySpan<GrantRef> grants, bool writable, UnmapNotify notify = default)
        => Table.Map(remoteDomain, grants, writable, notify);

    /// <inheritdoc />
    public void Unmap(Mapping mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        if (!Table.Owns(mapping))
            throw new ArgumentException("The mapping was not made by this XenMemory.", nameof(mapping));
        mapping.Dispose();
    }

    /// <inheritdoc />
    public void Unshare(Share share)
    {
        ArgumentNullException.ThrowIfNull(share);
        if (!Table.Owns(share))
            throw new ArgumentException("The share was not made by this XenMemory.", nameof(share));
        share.Dispose();
    }

    /// <summary>Retries ending grants that a peer still mapped when their share ended.</summary>
    /// <returns>How many are still mapped by a peer.</returns>
    public int ReclaimDeferred() => Table.ReclaimDeferred();

    /// <summary>Unmaps every mapping and ends every share.</summary>
    public void Dispose() => _table?.Dispose();
}
