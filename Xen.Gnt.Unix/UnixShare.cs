namespace Xen.Gnt.Unix;

/// <summary>Pages this process shares, mapped from their page files.</summary>
internal sealed class UnixShare : Share
{
    private readonly MemoryDomain _domain;

    public UnixShare(MemoryDomain domain, nint address, ushort remoteDomain, GrantedPage[] pages, bool peerWritable, UnmapNotify notify)
        : base(address, remoteDomain, Array.ConvertAll(pages, p => p.Ref), peerWritable, notify)
    {
        _domain = domain;
        Pages = pages;
    }

    public GrantedPage[] Pages { get; }

    public MemoryDomain Owner => _domain;

    /// <summary>The first byte, usable while the share is being released.</summary>
    public unsafe byte* Base => BaseAddress;

    protected override void Release(bool disposing) => _domain.EndShare(this);
}
