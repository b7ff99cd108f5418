using System.Runtime.InteropServices;

namespace Xen.Unix;

internal static partial class Interop
{
    internal const int LOCK_SH = 1;
    internal const int LOCK_EX = 2;
    internal const int LOCK_NB = 4;
    internal const int LOCK_UN = 8;

    [LibraryImport(Libc, EntryPoint = "flock", SetLastError = true)]
    private static partial int flock_raw(int fd, int operation);

    /// <summary>flock(2), retried on EINTR. Returns false when a non-blocking lock is held elsewhere.</summary>
    internal static bool flock(SafeFd fd, int operation)
    {
        var added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            while (true)
            {
                if (flock_raw(fd.Fd, operation) == 0)
                    return true;
                var errno = Errno;
                if (errno == EINTR)
                    continue;
                if (errno == EWOULDBLOCK)
                    return false;
                throw Fail("flock");
            }
        }
        finally
        {
            if (added)
                fd.DangerousRelease();
        }
    }
}
