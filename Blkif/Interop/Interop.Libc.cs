using System.Runtime.InteropServices;

namespace Blkif;

/// <summary>The few libc calls the raw image storage makes, one file per call, with the native names kept.</summary>
internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const string Name = "libc";

        internal const int EINTR = 4;
        internal const int EOPNOTSUPP = 95;
    }

    /// <summary>The last call's errno as an exception that says what failed.</summary>
    internal static IOException Error(string what)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{what} failed: errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}).", errno);
    }
}
