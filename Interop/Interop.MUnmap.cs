using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>munmap(addr, length)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "munmap", SetLastError = true)]
        internal static partial int MUnmap(nint addr, nuint length);
    }
}
