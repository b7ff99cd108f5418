namespace Xen.Gnt.InHeap;

/// <summary>An in-heap share: a view of the domain's own granted pages.</summary>
internal sealed class InHeapShare : Share
{
    public InHeapShare(nint address, GrantDomain owner, Grant[] grants, bool writable, UnmapNotify notify)
        : base(address, grants[0].RemoteDomain, Array.ConvertAll(grants, g => g.Ref), writable, notify)
    {
        Owner = owner;
        Grants = grants;
    }

    public GrantDomain Owner { get; }

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

    protected override void Release(bool disposing) => Owner.Hub.Release(this);
}
