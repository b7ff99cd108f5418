using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        internal const int EFD_NONBLOCK = 0x800;
        internal const int EFD_CLOEXEC = 0x80000;

        /// <summary><c>eventfd(initval, flags)</c>: a counter file that wakes a poll or an epoll; used to stop a thread.</summary>
        internal static SafeFd EventFd(uint initval, int flags) => new(EventFdRaw(initval, flags));

        [LibraryImport(Name, EntryPoint = "eventfd", SetLastError = true)]
        private static partial int EventFdRaw(uint initval, int flags);
    }
}
