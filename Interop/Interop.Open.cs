using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        internal const int O_RDONLY = 0;
        internal const int O_WRONLY = 1;
        internal const int O_RDWR = 2;
        internal const int O_CREAT = 0x40;
        internal const int O_EXCL = 0x80;
        internal const int O_NONBLOCK = 0x800;
        internal const int O_DIRECTORY = 0x10000;
        internal const int O_NOFOLLOW = 0x20000;
        internal const int O_CLOEXEC = 0x80000;
        internal const int O_TMPFILE = 0x400000 | O_DIRECTORY;

        /// <summary>
        /// <c>open(path, flags, mode)</c>, retried on EINTR: an invalid handle with errno set on failure.
        /// Always close-on-exec, and never through a symlink in the last component, since the backends open
        /// files in folders that other processes (other domains) can write.
        /// </summary>
        // open returns a C int: it is wrapped here, since a SafeHandle return would read -1 as 0xFFFFFFFF.
        internal static SafeFd Open(string path, int flags, int mode = 0)
        {
            int fd;
            do
                fd = OpenFd(path, flags | O_CLOEXEC | O_NOFOLLOW, mode);
            while (fd < 0 && Errno.Last == Errno.EINTR);
            return new SafeFd(fd);
        }

        [LibraryImport(Name, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static partial int OpenFd(string path, int flags, int mode);
    }
}
