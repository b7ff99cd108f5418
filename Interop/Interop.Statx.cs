using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const uint STATX_MODE = 0x2;
        internal const uint STATX_NLINK = 0x4;
        internal const uint STATX_UID = 0x8;
        internal const uint STATX_INO = 0x100;
        internal const uint STATX_SIZE = 0x200;

        private const int StatxAtFdCwd = -100;
        private const int StatxSymlinkNoFollow = 0x100;
        private const int StatxEmptyPath = 0x1000;
        private const uint StatxFields = STATX_INO | STATX_NLINK | STATX_UID | STATX_MODE | STATX_SIZE;

        /// <summary>The fields of <c>struct statx</c> the backends read; the layout is the same on every architecture.</summary>
        [StructLayout(LayoutKind.Explicit, Size = 256)]
        internal struct statx_t
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

        /// <summary>Stats a path without following a last symlink; false when it does not exist.</summary>
        internal static bool Statx(string path, out statx_t buffer)
        {
            if (StatxPath(StatxAtFdCwd, path, StatxSymlinkNoFollow, StatxFields, out buffer) == 0)
                return true;
            if (Errno.Last == Errno.ENOENT)
                return false;
            throw Errno.Fail("statx", path);
        }

        /// <summary>Stats an open descriptor.</summary>
        internal static statx_t FStatx(SafeFd fd)
        {
            if (StatxFd(fd, "", StatxEmptyPath, StatxFields, out var buffer) != 0)
                throw Errno.Fail("statx");
            return buffer;
        }

        [LibraryImport(Name, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static partial int StatxPath(int dirfd, string path, int flags, uint mask, out statx_t buffer);

        [LibraryImport(Name, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static partial int StatxFd(SafeFd dirfd, string path, int flags, uint mask, out statx_t buffer);
    }
}
