using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        internal const int FALLOC_FL_KEEP_SIZE = 0x01;
        internal const int FALLOC_FL_PUNCH_HOLE = 0x02;

        /// <summary><c>fallocate(fd, mode, offset, length)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "fallocate", SetLastError = true)]
        internal static partial int FAllocate(SafeHandle fd, int mode, long offset, long length);
    }
}
