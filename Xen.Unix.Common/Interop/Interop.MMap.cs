using System.Runtime.InteropServices;

namespace Xen.Unix;

internal static unsafe partial class Interop
{
    internal const int PROT_NONE = 0;
    internal const int PROT_READ = 1;
    internal const int PROT_WRITE = 2;
    internal const int MAP_SHARED = 0x01;
    internal const int MAP_PRIVATE = 0x02;
    internal const int MAP_FIXED = 0x10;
    internal const int MAP_ANONYMOUS = 0x20;
    internal const int MAP_NORESERVE = 0x4000;
    internal static readonly nint MAP_FAILED = -1;

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint mmap(nint address, nuint length, int protection, int flags, SafeFd fd, long offset);

    [LibraryImport(Libc, EntryPoint = "mmap", SetLastError = true)]
    internal static partial nint mmap_anonymous(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int munmap(nint address, nuint length);
}
