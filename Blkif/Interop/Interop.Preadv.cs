using System.Runtime.InteropServices;

namespace Blkif;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>struct iovec</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct IOVector
        {
            public byte* Base;
            public nuint Count;
        }

        [LibraryImport(Name, EntryPoint = "preadv", SetLastError = true)]
        internal static unsafe partial nint PReadV(int fd, IOVector* iov, int iovcnt, long offset);
    }
}
