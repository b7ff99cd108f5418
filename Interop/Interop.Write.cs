using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>write(fd, buffer, count)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "write", SetLastError = true)]
        internal static partial nint Write(SafeFd fd, void* buffer, nuint count);
    }
}
