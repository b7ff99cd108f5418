namespace Xen.Gnt.Xenctrl;

/// <summary>
/// Grant tables of a real Xen domain through Linux's <c>/dev/xen/gntalloc</c> (to share pages) and
/// <c>/dev/xen/gntdev</c> (to map a peer's grants).
/// </summary>
/// <remarks>
/// <para>A struct over the two open devices, so that drivers generic over <c>TMemory</c> are specialised by
/// the JIT. Copies share the devices; dispose one of them once. Shares and mappings outlive the backend:
/// each keeps its device open until it is released.</para>
/// <para>An <see cref="UnmapNotify.EventPort"/> is a local port bound through <c>/dev/xen/evtchn</c> in this
/// domain (for instance by <c>XenctrlEvents</c>); Linux notifies its peer when the pages go away, also when
/// this process dies. A share's notification fires when this domain lets go of the pages (the peer's
/// mapping stays valid and sees the cleared byte); a mapping's when it is unmapped.</para>
/// <para>Linux reports every refused grant map as EINVAL, so a failed <see cref="Map"/> is a
/// <see cref="GrantException"/> with <see cref="GrantStatus.GeneralError"/> whose message lists the causes.</para>
/// </remarks>
public readonly struct XenctrlMemory : IMemory
{
    /// <summary>Where Linux puts the grant-mapping device.</summary>
    public const string DefaultGntdevPath = "/dev/xen/gntdev";

    /// <summary>Where Linux puts the grant-sharing device.</summary>
    public const string DefaultGntallocPath = "/dev/xen/gntalloc";

    private readonly GrantDevices? _devices;

    private XenctrlMemory(GrantDevices devices) => _devices = devices;

    /// <summary>
    /// Opens the grant devices of the domain <paramref name="localDomain"/> this process runs in
    /// (0 in dom0; a domU reads its own with <c>xenstore-read domid</c>).
    /// </summary>
    /// <exception cref="GrantException">A device cannot be opened: not a Xen domain, the <c>xen-gntdev</c> or
    /// <c>xen-gntalloc</c> module not loaded, or no permission. The message says which and what to do.</exception>
    public static XenctrlMemory Open(ushort localDomain, string gntallocPath = DefaultGntallocPath, string gntdevPath = DefaultGntdevPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(gntallocPath);
        ArgumentException.ThrowIfNullOrEmpty(gntdevPath);
        return new XenctrlMemory(GrantDevices.Open(gntallocPath, gntdevPath, localDomain));
    }

    /// <inheritdoc />
    public ushort LocalDomain => Devices.LocalDomain;

    private GrantDevices Devices => _devices ?? ThrowNotOpened();

    /// <inheritdoc />
    public Share Share(ushort remoteDomain, int pageCount, bool writable, UnmapNotify notify = default) =>
        XenctrlShare.Create(Devices, remoteDomain, pageCount, writable, notify);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A read-only mapping asked to clear a byte, which Linux refuses.</exception>
    public Mapping Map(ushort remoteDomain, GrantRef grant, bool writable, UnmapNotify notify = default) =>
        XenctrlMapping.Create(Devices, remoteDomain, [grant], writable, notify);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">No refs, or a read-only mapping asked to clear a byte.</exception>
    public Mapping MapMany(ushort remoteDomain, ReadOnlySpan<GrantRef> grants, bool writable, UnmapNotify notify = default) =>
        XenctrlMapping.Create(Devices, remoteDomain, grants, writable, notify);

    /// <inheritdoc />
    public void Unmap(Mapping mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        if (mapping is not XenctrlMapping)
            throw new ArgumentException($"The mapping was not made by {nameof(XenctrlMemory)}.", nameof(mapping));
        mapping.Dispose();
    }

    /// <inheritdoc />
    public void Unshare(Share share)
    {
        ArgumentNullException.ThrowIfNull(share);
        if (share is not XenctrlShare)
            throw new ArgumentException($"The share was not made by {nameof(XenctrlMemory)}.", nameof(share));
        share.Dispose();
    }

    /// <summary>Closes the devices once every share and mapping made through them has been released.</summary>
    public void Dispose() => _devices?.Dispose();

    private static GrantDevices ThrowNotOpened() =>
        throw new InvalidOperationException($"This {nameof(XenctrlMemory)} is the default value; create one with {nameof(XenctrlMemory)}.{nameof(Open)}.");
}
