using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>mkdir(path, mode)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "mkdir", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Mkdir(string path, int mode);
    }
}
