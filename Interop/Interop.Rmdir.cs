using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>rmdir(path)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "rmdir", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Rmdir(string path);
    }
}
