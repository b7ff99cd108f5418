using static Interop.Privcmd;

namespace Xen.Xenctrl;

/// <summary>
/// Hypercalls from dom0 through Linux's <c>/dev/xen/privcmd</c>: the domain information a Xenstore
/// daemon needs to tell which domains died (<see cref="GetDomainInfo"/>). The arguments live in a page
/// from <c>/dev/xen/hypercall</c>, memory Xen may always read and write.
/// </summary>
public sealed unsafe class XenctrlHypervisor : IDisposable
{
    /// <summary>Linux's privileged-command device.</summary>
    public const string DefaultPrivcmdPath = "/dev/xen/privcmd";

    /// <summary>Linux's device for hypercall argument buffers.</summary>
    public const string DefaultHypercallPath = "/dev/xen/hypercall";

    private const int PageSize = 4096;

    private readonly SafeFd _privcmd;
    private readonly SafeFd? _hypercall;
    private readonly byte* _buffer;
    private readonly Lock _lock = new();
    private uint _version;
    private bool _disposed;

    private XenctrlHypervisor(SafeFd privcmd, SafeFd? hypercall, byte* buffer)
    {
        _privcmd = privcmd;
        _hypercall = hypercall;
        _buffer = buffer;
    }

    /// <summary>Opens the devices (dom0, as root).</summary>
    /// <exception cref="IOException">The device cannot be opened or the buffer mapped; the message says why.</exception>
    public static XenctrlHypervisor Open(string privcmdPath = DefaultPrivcmdPath, string hypercallPath = DefaultHypercallPath)
    {
        var privcmd = Interop.Libc.Open(privcmdPath, Interop.Libc.O_RDWR);
        if (privcmd.IsInvalid)
        {
            var errno = Interop.Errno.Last;
            privcmd.Dispose();
            throw new IOException($"Cannot open {privcmdPath}: {Interop.Errno.Describe(errno)} (errno {errno}). Run in dom0 as root with the xen-privcmd module loaded.");
        }
        SafeFd? hypercall = Interop.Libc.Open(hypercallPath, Interop.Libc.O_RDWR);
        nint address;
        if (!hypercall.IsInvalid)
        {
            address = Interop.Libc.MMap(0, PageSize, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE, Interop.Libc.MAP_SHARED, hypercall, 0);
        }
        else
        {
            // Kernels before 4.18 have no hypercall device: a private page, touched at once so that it is
            // present when Xen copies from it (no swap in dom0).
            hypercall.Dispose();
            hypercall = null;
            address = Interop.Libc.MMapAnonymous(0, PageSize, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE, Interop.Libc.MAP_PRIVATE);
        }
        if (address == Interop.Libc.MAP_FAILED)
        {
            var errno = Interop.Errno.Last;
            hypercall?.Dispose();
            privcmd.Dispose();
            throw new IOException($"Cannot map a hypercall buffer: {Interop.Errno.Describe(errno)} (errno {errno}).");
        }
        new Span<byte>((void*)address, PageSize).Clear();
        return new XenctrlHypervisor(privcmd, hypercall, (byte*)address);
    }

    /// <summary>
    /// What Xen says of <paramref name="domain"/>; null if no such domain exists (any more).
    /// </summary>
    /// <exception cref="IOException">The hypercall failed for another reason (not dom0, an unknown Xen version).</exception>
    public XenDomainInfo? GetDomainInfo(ushort domain)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_version != 0)
                return Query(domain, _version, out _);
            // The interface version is Xen's; an older or newer Xen answers EACCES to a version it does not speak.
            var refused = 0;
            foreach (var version in XEN_DOMCTL_INTERFACE_VERSIONS)
            {
                var info = Query(domain, version, out refused);
                if (refused == 0)
                {
                    _version = version;
                    return info;
                }
            }
            throw new IOException($"Xen refused XEN_DOMCTL_getdomaininfo at every interface version known here ({Interop.Errno.Describe(refused)}).");
        }
    }

    private XenDomainInfo? Query(ushort domain, uint version, out int refused)
    {
        refused = 0;
        new Span<byte>(_buffer, DomctlSize).Clear();
        var header = (xen_domctl_header*)_buffer;
        header->cmd = XEN_DOMCTL_getdomaininfo;
        header->interface_version = version;
        header->domain = domain;
        var call = new privcmd_hypercall { op = __HYPERVISOR_domctl, arg0 = (ulong)_buffer };
        var result = Interop.Libc.Ioctl(_privcmd, IOCTL_PRIVCMD_HYPERCALL, &call);
        if (result < 0)
        {
            var errno = Interop.Errno.Last;
            if (errno == Interop.Errno.ESRCH)
                return null;
            if (errno == Interop.Errno.EACCES && _version == 0)
            {
                refused = errno;
                return null;
            }
            throw new IOException($"XEN_DOMCTL_getdomaininfo for domain {domain} failed: {Interop.Errno.Describe(errno)} (errno {errno}).");
        }
        var info = (xen_domctl_getdomaininfo_head*)(_buffer + DomctlUnionOffset);
        // Xen 4.17 answers with the first domain at or above the one asked for.
        if (info->domain != domain)
            return null;
        var flags = info->flags;
        return new XenDomainInfo(domain, (flags & XEN_DOMINF_dying) != 0, (flags & XEN_DOMINF_shutdown) != 0,
            (flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask);
    }

    /// <summary>Unmaps the buffer and closes the devices.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            _ = Interop.Libc.MUnmap((nint)_buffer, PageSize);
            _hypercall?.Dispose();
            _privcmd.Dispose();
        }
    }
}
