using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>
    /// <c>/dev/xen/privcmd</c>'s hypercall ioctl (Linux's <c>xen/privcmd.h</c>) and the one domctl the
    /// Xenstore daemon makes, <c>XEN_DOMCTL_getdomaininfo</c> (Xen's public <c>domctl.h</c>, 4.17).
    /// </summary>
    internal static unsafe class Privcmd
    {
        internal static readonly nuint IOCTL_PRIVCMD_HYPERCALL = Libc.IOC_NONE('P', 0, (uint)sizeof(privcmd_hypercall));

        internal const ulong __HYPERVISOR_domctl = 36;
        internal const uint XEN_DOMCTL_getdomaininfo = 5;

        /// <summary>The domctl interface versions this layout is valid for: Xen 4.17 (0x15) and later (0x16, 0x17).</summary>
        internal static readonly uint[] XEN_DOMCTL_INTERFACE_VERSIONS = [0x15, 0x16, 0x17];

        internal const uint XEN_DOMINF_dying = 1u << 0;
        internal const uint XEN_DOMINF_shutdown = 1u << 2;
        internal const int XEN_DOMINF_shutdownshift = 16;
        internal const uint XEN_DOMINF_shutdownmask = 0xff;

        /// <summary><c>struct privcmd_hypercall</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct privcmd_hypercall
        {
            internal ulong op;
            internal ulong arg0;
            internal ulong arg1;
            internal ulong arg2;
            internal ulong arg3;
            internal ulong arg4;
        }

        /// <summary><c>struct xen_domctl</c>'s header; the union <c>u</c> (128 bytes) follows at <see cref="DomctlUnionOffset"/>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct xen_domctl_header
        {
            internal uint cmd;
            internal uint interface_version;
            internal ushort domain;
            internal ushort pad0;
            internal ushort pad1;
            internal ushort pad2;
        }

        internal const int DomctlSize = 144;
        internal const int DomctlUnionOffset = 16;

        /// <summary>The head of <c>struct xen_domctl_getdomaininfo</c>: what the daemon reads of it.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct xen_domctl_getdomaininfo_head
        {
            internal ushort domain;
            internal ushort pad1;
            internal uint flags;
        }
    }
}
