using System.Runtime.InteropServices;

// Native structs keep their C names, lower case as in the headers.
#pragma warning disable CS8981

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        internal const short POLLIN = 0x1;
        internal const short POLLERR = 0x8;
        internal const short POLLHUP = 0x10;
        internal const short POLLNVAL = 0x20;

        /// <summary><c>struct pollfd</c>: the descriptor number is read from a <see cref="SafeFd"/> the caller keeps alive.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct pollfd
        {
            internal int fd;
            internal short events;
            internal short revents;
        }

        /// <summary><c>poll(fds, nfds, timeout)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "poll", SetLastError = true)]
        internal static partial int Poll(pollfd* fds, nuint nfds, int timeout);
    }
}
