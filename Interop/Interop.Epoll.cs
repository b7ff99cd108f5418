using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        internal const int EPOLL_CLOEXEC = 0x80000;
        internal const int EPOLL_CTL_ADD = 1;
        internal const int EPOLL_CTL_DEL = 2;
        internal const int EPOLL_CTL_MOD = 3;
        internal const uint EPOLLIN = 0x001;
        internal const uint EPOLLERR = 0x008;
        internal const uint EPOLLHUP = 0x010;
        internal const uint EPOLLRDHUP = 0x2000;

        // struct epoll_event is packed on x86-64 only.
        internal static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
        internal static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

        /// <summary><c>epoll_create1(flags)</c>.</summary>
        internal static SafeFd EpollCreate1(int flags) => new(EpollCreate1Raw(flags));

        /// <summary><c>epoll_ctl(epfd, op, fd, event)</c> with the event built from <paramref name="events"/> and <paramref name="data"/>.</summary>
        internal static int EpollCtl(SafeFd epfd, int op, SafeHandle fd, uint events, ulong data)
        {
            var buffer = stackalloc byte[16];
            *(uint*)buffer = events;
            *(ulong*)(buffer + EpollDataOffset) = data;
            return EpollCtlRaw(epfd, op, fd, buffer);
        }

        /// <summary><c>epoll_wait(epfd, events, maxevents, timeout)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "epoll_wait", SetLastError = true)]
        internal static partial int EpollWait(SafeFd epfd, byte* events, int maxevents, int timeout);

        [LibraryImport(Name, EntryPoint = "epoll_create1", SetLastError = true)]
        private static partial int EpollCreate1Raw(int flags);

        [LibraryImport(Name, EntryPoint = "epoll_ctl", SetLastError = true)]
        private static partial int EpollCtlRaw(SafeFd epfd, int op, SafeHandle fd, byte* @event);
    }
}
