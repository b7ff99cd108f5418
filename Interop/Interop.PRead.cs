using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>pread(fd, buffer, count, offset)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "pread", SetLastError = true)]
        internal static partial nint PRead(SafeHandle fd, byte* buffer, nuint count, long offset);
    }
}
