using System.Runtime.InteropServices;

namespace Xen.Xenctrl.Native;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Name, EntryPoint = "munmap", SetLastError = true)]
        internal static partial int MUnmap(nint addr, nuint length);
    }
}
