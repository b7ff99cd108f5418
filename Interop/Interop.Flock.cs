using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        internal const int LOCK_SH = 1;
        internal const int LOCK_EX = 2;
        internal const int LOCK_NB = 4;
        internal const int LOCK_UN = 8;

        /// <summary><c>flock(fd, operation)</c>, retried on EINTR. False when a non-blocking lock is held elsewhere.</summary>
        internal static bool Flock(SafeFd fd, int operation)
        {
            while (true)
            {
                if (FlockRaw(fd, operation) == 0)
                    return true;
                var errno = Errno.Last;
                if (errno == Errno.EINTR)
                    continue;
                if (errno == Errno.EWOULDBLOCK)
                    return false;
                throw Errno.Fail("flock");
            }
        }

        [LibraryImport(Name, EntryPoint = "flock", SetLastError = true)]
        private static partial int FlockRaw(SafeFd fd, int operation);
    }
}
