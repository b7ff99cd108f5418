using System.Runtime.InteropServices;

namespace Xen.Unix;

internal static unsafe partial class Interop
{
    internal const int EPOLL_CLOEXEC = 0x80000;
    internal const int EPOLL_CTL_ADD = 1;
    internal const int EPOLL_CTL_DEL = 2;
    internal const int EPOLL_CTL_MOD = 3;
    internal const uint EPOLLIN = 0x001;
    internal const uint EPOLLERR = 0x008;
    internal const uint EPOLLHUP = 0x010;
    internal const uint EPOLLRDHUP = 0x2000;

    /// <summary><c>struct epoll_event</c> is packed to 12 bytes on x86-64 and 16 bytes elsewhere.</summary>
    internal static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    /// <summary>The offset of <c>epoll_event.data</c>.</summary>
    internal static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int epoll_create1(int flags);

    [LibraryImport(Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int epoll_ctl_raw(int epfd, int op, int fd, byte* @event);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int epoll_wait(int epfd, byte* events, int maxevents, int timeout);

    /// <summary>Adds, changes or removes <paramref name="fd"/> with <paramref name="data"/> as its tag.</summary>
    internal static int epoll_ctl(int epfd, int op, int fd, uint events, ulong data)
    {
        var buffer = stackalloc byte[16];
        *(uint*)buffer = events;
        *(ulong*)(buffer + EpollDataOffset) = data;
        return epoll_ctl_raw(epfd, op, fd, buffer);
    }
}
