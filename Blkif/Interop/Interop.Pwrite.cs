using System.Runtime.InteropServices;

namespace Blkif;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, EntryPoint = "pwrite", SetLastError = true)]
        internal static unsafe partial nint PWrite(int fd, byte* buffer, nuint count, long offset);
    }
}
