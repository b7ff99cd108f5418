using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>The ioctls of <c>/dev/xen/gntdev</c> and their arguments, as in Linux's <c>xen/gntdev.h</c>.</summary>
    internal static unsafe class Gntdev
    {
        internal static readonly nuint IOCTL_GNTDEV_MAP_GRANT_REF = Libc.IOC_NONE('G', 0, (uint)sizeof(ioctl_gntdev_map_grant_ref));
        internal static readonly nuint IOCTL_GNTDEV_UNMAP_GRANT_REF = Libc.IOC_NONE('G', 1, (uint)sizeof(ioctl_gntdev_unmap_grant_ref));
        internal static readonly nuint IOCTL_GNTDEV_SET_UNMAP_NOTIFY = Libc.IOC_NONE('G', 7, (uint)sizeof(ioctl_gntdev_unmap_notify));

        /// <summary>Clear (set to zero) the byte at the notify index.</summary>
        internal const uint UNMAP_NOTIFY_CLEAR_BYTE = 0x1;

        /// <summary>Send an event on the notify port.</summary>
        internal const uint UNMAP_NOTIFY_SEND_EVENT = 0x2;

        /// <summary>Where the variable <c>refs</c> tail starts in <see cref="ioctl_gntdev_map_grant_ref"/>.</summary>
        internal const int MapGrantRefRefsOffset = 16;

        /// <summary><c>struct ioctl_gntdev_grant_ref</c>: one grant to map.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ioctl_gntdev_grant_ref
        {
            internal uint domid;
            internal uint @ref;
        }

        /// <summary>The C header's <c>refs[1]</c>: the first of <c>count</c> refs that follow the header.</summary>
        [InlineArray(1)]
        internal struct grant_refs_tail
        {
            private ioctl_gntdev_grant_ref _first;
        }

        /// <summary><c>struct ioctl_gntdev_map_grant_ref</c>; the ioctl reads <c>count</c> refs from <c>refs</c> on.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ioctl_gntdev_map_grant_ref
        {
            internal uint count;
            internal uint pad;
            internal ulong index;
            internal grant_refs_tail refs;
        }

        /// <summary><c>struct ioctl_gntdev_unmap_grant_ref</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ioctl_gntdev_unmap_grant_ref
        {
            internal ulong index;
            internal uint count;
            internal uint pad;
        }

        /// <summary><c>struct ioctl_gntdev_unmap_notify</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ioctl_gntdev_unmap_notify
        {
            internal ulong index;
            internal uint action;
            internal uint event_channel_port;
        }

        /// <summary>The bytes the map ioctl reads for <paramref name="count"/> refs (never less than the C struct).</summary>
        internal static int MapGrantRefSize(int count) => Math.Max(sizeof(ioctl_gntdev_map_grant_ref), MapGrantRefRefsOffset + count * sizeof(ioctl_gntdev_grant_ref));
    }
}
