using System.Runtime.InteropServices;

namespace Xen.Xenctrl.Native;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const short POLLIN = 0x1;
        internal const short POLLERR = 0x8;
        internal const short POLLHUP = 0x10;
        internal const short POLLNVAL = 0x20;

        /// <summary><c>struct pollfd</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct pollfd
        {
            internal int fd;
            internal short events;
            internal short revents;
        }

        [LibraryImport(Name, EntryPoint = "poll", SetLastError = true)]
        internal static unsafe partial int Poll(pollfd* fds, nuint nfds, int timeout);
    }
}
