using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>pwritev(fd, iov, iovcnt, offset)</c>; the vector is <c>struct iovec</c> (<see cref="iovec"/>).</summary>
        [LibraryImport(Name, EntryPoint = "pwritev", SetLastError = true)]
        internal static partial nint PWriteV(SafeHandle fd, iovec* iov, int iovcnt, long offset);
    }
}
