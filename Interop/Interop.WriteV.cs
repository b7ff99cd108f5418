using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>writev(fd, iov, iovcnt)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "writev", SetLastError = true)]
        internal static partial nint WriteV(SafeFd fd, iovec* iov, int iovcnt);
    }
}
