using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
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

        /// <summary><c>mmap(addr, length, prot, flags, fd, offset)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "mmap", SetLastError = true)]
        internal static partial nint MMap(nint addr, nuint length, int prot, int flags, SafeFd fd, long offset);

        /// <summary><c>mmap</c> with no file (<c>MAP_ANONYMOUS</c>, fd -1).</summary>
        internal static nint MMapAnonymous(nint addr, nuint length, int prot, int flags) =>
            MMapNoFile(addr, length, prot, flags | MAP_ANONYMOUS, -1, 0);

        [LibraryImport(Name, EntryPoint = "mmap", SetLastError = true)]
        private static partial nint MMapNoFile(nint addr, nuint length, int prot, int flags, int fd, long offset);
    }
}
