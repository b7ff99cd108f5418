using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>The foreign-mapping ioctl of <c>/dev/xen/privcmd</c> and its argument, as in Linux's <c>xen/privcmd.h</c>.</summary>
    internal static unsafe class Privcmd
    {
        internal static readonly nuint IOCTL_PRIVCMD_MMAPBATCH_V2 = Libc.IOC_NONE('P', 4, (uint)sizeof(privcmd_mmapbatch_v2));

        /// <summary><c>struct privcmd_mmapbatch_v2</c>: map <c>num</c> frames of <c>dom</c> at <c>addr</c>, a range
        /// mmap'ed from the privcmd descriptor; each frame's result lands in <c>err</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct privcmd_mmapbatch_v2
        {
            internal uint num;
            internal ushort dom;
            internal ulong addr;
            internal ulong* arr;
            internal int* err;
        }
    }
}
