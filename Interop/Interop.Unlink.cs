using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>unlink(path)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "unlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Unlink(string path);
    }
}
