namespace Xen.Gnt.InHeap;

/// <summary>One entry of a domain's grant table: which page, for whom, and who still maps it. Guarded by the hub's lock.</summary>
internal sealed class Grant(GrantDomain owner, GrantRef reference, ushort remoteDomain, bool writable, long page)
{
    public GrantDomain Owner { get; } = owner;

    public GrantRef Ref { get; } = reference;

    /// <summary>The only domain that may map it.</summary>
    public ushort RemoteDomain { get; } = remoteDomain;

    public bool Writable { get; } = writable;

    /// <summary>The page's index in the owner's page file.</summary>
    public long Page { get; } = page;

    /// <summary>Whether the share still grants it; once false, no new mapping is allowed.</summary>
    public bool Shared { get; set; } = true;

    /// <summary>How many live mappings hold the page; the ref and the page stay taken until this is 0.</summary>
    public int MapCount { get; set; }
}
