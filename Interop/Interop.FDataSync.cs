using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>fdatasync(fd)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "fdatasync", SetLastError = true)]
        internal static partial int FDataSync(SafeHandle fd);
    }
}
