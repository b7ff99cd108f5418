using System.Net.Sockets;

namespace Xen.Gnt.Unix;

/// <summary>A peer's pages mapped from their page files into one contiguous range.</summary>
internal sealed class UnixMapping : Mapping
{
    private readonly MemoryDomain _domain;

    public UnixMapping(MemoryDomain domain, nint address, ushort remoteDomain, GrantedPage[] pages, bool writable, UnmapNotify notify, Socket[] granters)
        : base(address, remoteDomain, Array.ConvertAll(pages, p => p.Ref), writable, notify)
    {
        _domain = domain;
        Pages = pages;
        Granters = granters;
    }

    public GrantedPage[] Pages { get; }

    /// <summary>One connection per granting process: it tells the granter when this mapping ends, and
    /// tells this process when the granter dies.</summary>
    public Socket[] Granters { get; }

    public MemoryDomain Owner => _domain;

    /// <summary>Set once the mapping is being released, so that a granter's death no longer touches it.</summary>
    public volatile bool Ending;

    public unsafe byte* Base => BaseAddress;

    protected override void Release(bool disposing) => _domain.EndMapping(this);
}
