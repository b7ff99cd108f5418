using System.Runtime.InteropServices;

// Native structs keep their C names, lower case as in the headers.
#pragma warning disable CS8981

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>struct iovec</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct iovec
        {
            internal void* iov_base;
            internal nuint iov_len;
        }
    }
}
