using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>ftruncate(fd, length)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "ftruncate", SetLastError = true)]
        internal static partial int FTruncate(SafeFd fd, long length);
    }
}
