namespace Xen.Gnt.InHeap;

/// <summary>An in-heap mapping: one contiguous view of pages another domain granted.</summary>
internal sealed class InHeapMapping : Mapping
{
    public InHeapMapping(nint address, GrantDomain mapper, ushort remoteDomain, Grant[] grants, bool writable, UnmapNotify notify)
        : base(address, remoteDomain, Array.ConvertAll(grants, g => g.Ref), writable, notify)
    {
        Mapper = mapper;
        Grants = grants;
    }

    public GrantDomain Mapper { get; }

    public Grant[] Grants { get; }

    /// <summary>The first byte even after release began, for the unmap notification.</summary>
    public nint Base
    {
        get
        {
            unsafe
            {
                return (nint)BaseAddress;
            }
        }
    }

    protected override void Release(bool disposing) => Mapper.Hub.Release(this);
}
