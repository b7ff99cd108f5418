using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>pwrite(fd, buffer, count, offset)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "pwrite", SetLastError = true)]
        internal static partial nint PWrite(SafeHandle fd, byte* buffer, nuint count, long offset);
    }
}
