using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>preadv(fd, iov, iovcnt, offset)</c>; the vector is <c>struct iovec</c> (<see cref="iovec"/>).</summary>
        [LibraryImport(Name, EntryPoint = "preadv", SetLastError = true)]
        internal static partial nint PReadV(SafeHandle fd, iovec* iov, int iovcnt, long offset);
    }
}
