using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>read(fd, buffer, count)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "read", SetLastError = true)]
        internal static partial nint Read(SafeFd fd, void* buffer, nuint count);
    }
}
