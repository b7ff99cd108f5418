using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>geteuid()</c>: never fails.</summary>
        [LibraryImport(Name, EntryPoint = "geteuid")]
        internal static partial uint GetEUid();
    }
}
