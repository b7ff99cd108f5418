using System.Runtime.InteropServices;

namespace Xen.Unix;

internal static unsafe partial class Interop
{
    internal const int MSG_DONTWAIT = 0x40;
    internal const int MSG_NOSIGNAL = 0x4000;
    internal const int EPIPE = 32;
    internal const int ECONNRESET = 104;

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint send(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint recv(int fd, byte* buffer, nuint length, int flags);
}
