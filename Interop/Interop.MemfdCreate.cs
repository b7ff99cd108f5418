using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        internal const uint MFD_CLOEXEC = 0x1;

        /// <summary><c>memfd_create(name, flags)</c>: an anonymous file in memory.</summary>
        internal static SafeFd MemfdCreate(string name, uint flags) => new(MemfdCreateRaw(name, flags));

        [LibraryImport(Name, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        private static partial int MemfdCreateRaw(string name, uint flags);
    }
}
