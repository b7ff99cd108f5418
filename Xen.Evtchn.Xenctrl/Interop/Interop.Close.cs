using System.Runtime.InteropServices;

namespace Xen.Xenctrl.Native;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(nint fd);
    }
}
