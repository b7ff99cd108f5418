using System.Runtime.InteropServices;

namespace Xen.Xenctrl.Native;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int O_RDONLY = 0x0;
        internal const int O_RDWR = 0x2;
        internal const int O_NONBLOCK = 0x800;
        internal const int O_CLOEXEC = 0x80000;

        /// <summary><c>open(path, flags)</c>: an invalid handle with errno set on failure.</summary>
        // open returns a C int: it is wrapped here, since a SafeHandle return would read -1 as 0xFFFFFFFF.
        internal static SafeDeviceHandle Open(string path, int flags) => new(OpenFd(path, flags));

        [LibraryImport(Name, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static partial int OpenFd(string path, int flags);
    }
}
