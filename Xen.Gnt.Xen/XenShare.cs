namespace Xen.Gnt.Xen;

/// <summary>Pages of this guest granted to a peer through its grant table.</summary>
internal sealed unsafe class XenShare : Share
{

    public XenShare(GrantTable table, nint address, ushort remoteDomain, GrantRef[] refs, ulong[] frames, bool writable, UnmapNotify notify)
        : base(address, remoteDomain, refs, writable, notify)
    {
        Table = table;
        Frames = frames;
    }

    /// <summary>The frame number of each page, as written in its grant entry.</summary>
    public ulong[] Frames { get; }

    /// <summary>Refs that the peer still mapped when the share ended.</summary>
    public List<uint> PendingRefs { get; } = [];

    public GrantTable Table { get; }

    public byte* Base => BaseAddress;

    protected override void Release(bool disposing) => Table.Release(this);
}

/// <summary>A peer's grants mapped into this guest by <c>GNTTABOP_map_grant_ref</c>.</summary>
internal sealed unsafe class XenMapping : Mapping
{

    public XenMapping(GrantTable table, nint address, ushort remoteDomain, GrantRef[] refs, uint[] handles, bool writable, UnmapNotify notify)
        : base(address, remoteDomain, refs, writable, notify)
    {
        Table = table;
        Handles = handles;
    }

    /// <summary>The grant handle of each page, for <c>GNTTABOP_unmap_grant_ref</c>.</summary>
    public uint[] Handles { get; }

    public GrantTable Table { get; }

    public byte* Base => BaseAddress;

    protected override void Release(bool disposing) => Table.Release(this);
}
