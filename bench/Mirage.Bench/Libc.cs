using System.Runtime.InteropServices;

namespace Mirage.Bench;

/// <summary>The few libc calls of the socketpair baselines, which the benches measure against.</summary>
internal static partial class Libc
{
    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int socketpair(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial nint read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc")]
    internal static partial int close(int fd);
}
