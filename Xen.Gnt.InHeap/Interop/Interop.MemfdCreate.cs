using System.Runtime.InteropServices;

namespace Xen.Gnt.InHeap;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const uint MFD_CLOEXEC = 0x1;

        [LibraryImport(Name, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int MemfdCreate(string name, uint flags);
    }
}
