using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>errno: the Linux values the backends tell apart, and the messages for failed calls.</summary>
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
        internal const int EWOULDBLOCK = EAGAIN;
        internal const int ENOMEM = 12;
        internal const int EACCES = 13;
        internal const int EFAULT = 14;
        internal const int EBUSY = 16;
        internal const int EEXIST = 17;
        internal const int ENODEV = 19;
        internal const int EINVAL = 22;
        internal const int EFBIG = 27;
        internal const int ENOSPC = 28;
        internal const int EPIPE = 32;
        internal const int EBADFD = 77;
        internal const int EOPNOTSUPP = 95;
        internal const int ECONNRESET = 104;
        internal const int ENOTCONN = 107;

        /// <summary>errno of the last native call on this thread.</summary>
        internal static int Last => Marshal.GetLastPInvokeError();

        /// <summary>The C library's text for <paramref name="errno"/>, e.g. "No such file or directory".</summary>
        internal static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

        /// <summary>What the last failed <paramref name="call"/> (on <paramref name="path"/>, if any) said.</summary>
        internal static string Message(string call, string? path = null)
        {
            var errno = Last;
            var what = path is null ? call : $"{call}({path})";
            return $"{what} failed: {Describe(errno)} (errno {errno})";
        }

        /// <summary>The last failed <paramref name="call"/> as an exception to throw.</summary>
        internal static IOException Fail(string call, string? path = null) => new(Message(call, path));
    }
}
