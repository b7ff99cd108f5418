using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>recv(fd, buffer, length, flags)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "recv", SetLastError = true)]
        internal static partial nint Recv(SafeHandle fd, byte* buffer, nuint length, int flags);
    }
}
