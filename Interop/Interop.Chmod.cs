using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>chmod(path, mode)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "chmod", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Chmod(string path, int mode);
    }
}
