using System.Runtime.InteropServices;

namespace Blkif;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int FALLOC_FL_KEEP_SIZE = 0x01;
        internal const int FALLOC_FL_PUNCH_HOLE = 0x02;

        [LibraryImport(Name, EntryPoint = "fallocate", SetLastError = true)]
        internal static partial int FAllocate(int fd, int mode, long offset, long length);
    }
}
