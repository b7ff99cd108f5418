using System.Runtime.InteropServices;

namespace Blkif;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, EntryPoint = "pread", SetLastError = true)]
        internal static unsafe partial nint PRead(int fd, byte* buffer, nuint count, long offset);
    }
}
