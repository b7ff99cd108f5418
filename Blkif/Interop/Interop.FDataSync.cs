using System.Runtime.InteropServices;

namespace Blkif;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, EntryPoint = "fdatasync", SetLastError = true)]
        internal static partial int FDataSync(int fd);
    }
}
