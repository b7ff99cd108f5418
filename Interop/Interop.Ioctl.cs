using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>ioctl(fd, request, arg)</c>: the driver's non-negative result, or -1 with errno set.</summary>
        [LibraryImport(Name, EntryPoint = "ioctl", SetLastError = true)]
        internal static partial int Ioctl(SafeFd fd, nuint request, void* arg);

        /// <summary>
        /// Linux's <c>_IOC(_IOC_NONE, type, nr, size)</c>: the Xen devices declare every ioctl with direction
        /// "none", so the number is only the size, the type letter and the ordinal.
        /// </summary>
        internal static uint IOC_NONE(char type, uint nr, uint size) => (size << 16) | ((uint)type << 8) | nr;
    }
}
