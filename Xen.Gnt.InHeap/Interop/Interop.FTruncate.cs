using System.Runtime.InteropServices;

namespace Xen.Gnt.InHeap;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, EntryPoint = "ftruncate", SetLastError = true)]
        internal static partial int FTruncate(int fd, long length);
    }
}
