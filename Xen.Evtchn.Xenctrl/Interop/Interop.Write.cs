using System.Runtime.InteropServices;

namespace Xen.Xenctrl.Native;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, EntryPoint = "write", SetLastError = true)]
        internal static unsafe partial nint Write(SafeDeviceHandle fd, void* buffer, nuint count);
    }
}
