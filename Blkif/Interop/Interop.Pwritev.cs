using System.Runtime.InteropServices;

namespace Blkif;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, EntryPoint = "pwritev", SetLastError = true)]
        internal static unsafe partial nint PWriteV(int fd, IOVector* iov, int iovcnt, long offset);
    }
}
