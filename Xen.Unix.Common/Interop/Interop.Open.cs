using System.Runtime.InteropServices;

namespace Xen.Unix;

internal static partial class Interop
{
    internal const int O_RDONLY = 0;
    internal const int O_WRONLY = 1;
    internal const int O_RDWR = 2;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_NOFOLLOW = 0x20000;
    internal const int O_CLOEXEC = 0x80000;
    internal const int O_DIRECTORY = 0x10000;
    internal const int O_TMPFILE = 0x400000 | O_DIRECTORY;

    [LibraryImport(Libc, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open_raw(string path, int flags, int mode);

    /// <summary>Opens <paramref name="path"/>; close-on-exec and no symlink following are always added.</summary>
    internal static SafeFd open(string path, int flags, int mode = 0)
    {
        int fd;
        do
            fd = open_raw(path, flags | O_CLOEXEC | O_NOFOLLOW, mode);
        while (fd < 0 && Errno == EINTR);
        return new SafeFd(fd);
    }
}
