namespace Xen.Xenctrl.Native;

internal static partial class Interop
{
    /// <summary>The Linux x86-64 errno values the xenctrl backends tell apart.</summary>
    internal static class Errno
    {
        internal const int EPERM = 1;
        internal const int ENOENT = 2;
        internal const int ESRCH = 3;
        internal const int EINTR = 4;
        internal const int EIO = 5;
        internal const int ENXIO = 6;
        internal const int EBADF = 9;
        internal const int EAGAIN = 11;
        internal const int ENOMEM = 12;
        internal const int EACCES = 13;
        internal const int EFAULT = 14;
        internal const int EBUSY = 16;
        internal const int ENODEV = 19;
        internal const int EINVAL = 22;
        internal const int EFBIG = 27;
        internal const int ENOSPC = 28;
        internal const int ENOTCONN = 107;

        /// <summary>errno of the last native call on this thread.</summary>
        internal static int Last => System.Runtime.InteropServices.Marshal.GetLastPInvokeError();

        /// <summary>The C library's text for <paramref name="errno"/>, e.g. "No such file or directory".</summary>
        internal static string Describe(int errno) => System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno);
    }
}
