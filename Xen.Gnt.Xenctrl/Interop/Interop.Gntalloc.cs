using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>The ioctls of <c>/dev/xen/gntalloc</c> and their arguments, as in Linux's <c>xen/gntalloc.h</c>.</summary>
    internal static unsafe class Gntalloc
    {
        internal static readonly nuint IOCTL_GNTALLOC_ALLOC_GREF = Libc.IOC_NONE('G', 5, (uint)sizeof(ioctl_gntalloc_alloc_gref));
        internal static readonly nuint IOCTL_GNTALLOC_DEALLOC_GREF = Libc.IOC_NONE('G', 6, (uint)sizeof(ioctl_gntalloc_dealloc_gref));
        internal static readonly nuint IOCTL_GNTALLOC_SET_UNMAP_NOTIFY = Libc.IOC_NONE('G', 7, (uint)sizeof(ioctl_gntalloc_unmap_notify));

        /// <summary>The peer may map the pages writable.</summary>
        internal const ushort GNTALLOC_FLAG_WRITABLE = 1;

        /// <summary>Clear (set to zero) the byte at the notify index.</summary>
        internal const uint UNMAP_NOTIFY_CLEAR_BYTE = 0x1;

        /// <summary>Send an event on the notify port.</summary>
        internal const uint UNMAP_NOTIFY_SEND_EVENT = 0x2;

        /// <summary>Where the variable <c>gref_ids</c> tail starts in <see cref="ioctl_gntalloc_alloc_gref"/>.</summary>
        internal const int AllocGrefGrefIdsOffset = 16;

        /// <summary>The C header's <c>gref_ids[1]</c>: the first of <c>count</c> refs the kernel writes back.</summary>
        [InlineArray(1)]
        internal struct gref_ids_tail
        {
            private uint _first;
        }

        /// <summary><c>struct ioctl_gntalloc_alloc_gref</c>; the kernel writes <c>count</c> refs from <c>gref_ids</c> on.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ioctl_gntalloc_alloc_gref
        {
            internal ushort domid;
            internal ushort flags;
            internal uint count;
            internal ulong index;
            internal gref_ids_tail gref_ids;
        }

        /// <summary><c>struct ioctl_gntalloc_dealloc_gref</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ioctl_gntalloc_dealloc_gref
        {
            internal ulong index;
            internal uint count;
        }

        /// <summary><c>struct ioctl_gntalloc_unmap_notify</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ioctl_gntalloc_unmap_notify
        {
            internal ulong index;
            internal uint action;
            internal uint event_channel_port;
        }

        /// <summary>
        /// The bytes the alloc ioctl touches for <paramref name="count"/> refs: the kernel copies the whole C
        /// struct in and out, and then <c>count</c> refs, so the buffer is never smaller than the struct.
        /// </summary>
        internal static int AllocGrefSize(int count) => Math.Max(sizeof(ioctl_gntalloc_alloc_gref), AllocGrefGrefIdsOffset + count * sizeof(uint));
    }
}
