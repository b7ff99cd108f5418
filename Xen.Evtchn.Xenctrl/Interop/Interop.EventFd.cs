using System.Runtime.InteropServices;

namespace Xen.Xenctrl.Native;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int EFD_CLOEXEC = 0x80000;
        internal const int EFD_NONBLOCK = 0x800;

        /// <summary><c>eventfd(initval, flags)</c>: a counter file that wakes a poll; used to stop the reader thread.</summary>
        internal static SafeDeviceHandle EventFd(uint initval, int flags) => new(EventFdRaw(initval, flags));

        [LibraryImport(Name, EntryPoint = "eventfd", SetLastError = true)]
        private static partial int EventFdRaw(uint initval, int flags);
    }
}
