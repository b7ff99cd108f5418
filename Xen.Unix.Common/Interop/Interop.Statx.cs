using System.Runtime.InteropServices;

namespace Xen.Unix;

internal static partial class Interop
{
    internal const int AT_FDCWD = -100;
    internal const int AT_EMPTY_PATH = 0x1000;
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const int AT_SYMLINK_FOLLOW = 0x400;
    internal const uint STATX_NLINK = 0x4;
    internal const uint STATX_UID = 0x8;
    internal const uint STATX_MODE = 0x2;
    internal const uint STATX_INO = 0x100;
    internal const uint STATX_SIZE = 0x200;

    /// <summary>The fields of <c>struct statx</c> the backends read; the layout is the same on every architecture.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct Statx
    {
        [FieldOffset(0)] public uint stx_mask;
        [FieldOffset(16)] public uint stx_nlink;
        [FieldOffset(20)] public uint stx_uid;
        [FieldOffset(28)] public ushort stx_mode;
        [FieldOffset(32)] public ulong stx_ino;
        [FieldOffset(40)] public ulong stx_size;
        [FieldOffset(136)] public uint stx_dev_major;
        [FieldOffset(140)] public uint stx_dev_minor;
    }

    [LibraryImport(Libc, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int statx_raw(int dirfd, string path, int flags, uint mask, out Statx buffer);

    /// <summary>Stats a path without following a last symlink; false when it does not exist.</summary>
    internal static bool statx(string path, out Statx buffer)
    {
        if (statx_raw(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_NLINK | STATX_UID | STATX_MODE | STATX_SIZE, out buffer) == 0)
            return true;
        if (Errno == ENOENT)
            return false;
        throw Fail("statx", path);
    }

    /// <summary>Stats an open descriptor.</summary>
    internal static Statx fstatx(SafeFd fd)
    {
        var added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            if (statx_raw(fd.Fd, "", AT_EMPTY_PATH, STATX_INO | STATX_NLINK | STATX_UID | STATX_MODE | STATX_SIZE, out var buffer) != 0)
                throw Fail("statx");
            return buffer;
        }
        finally
        {
            if (added)
                fd.DangerousRelease();
        }
    }
}
