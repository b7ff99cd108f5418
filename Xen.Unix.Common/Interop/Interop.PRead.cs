using System.Runtime.InteropServices;

namespace Xen.Unix;

internal static unsafe partial class Interop
{
    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint pread(SafeFd fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint pwrite(SafeFd fd, byte* buffer, nuint count, long offset);
}
