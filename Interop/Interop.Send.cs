using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        internal const int MSG_DONTWAIT = 0x40;
        internal const int MSG_NOSIGNAL = 0x4000;

        /// <summary><c>send(fd, buffer, length, flags)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "send", SetLastError = true)]
        internal static partial nint Send(SafeHandle fd, byte* buffer, nuint length, int flags);
    }
}
