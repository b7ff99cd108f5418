using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int AT_FDCWD = -100;
        internal const int AT_SYMLINK_NOFOLLOW = 0x100;
        internal const int AT_SYMLINK_FOLLOW = 0x400;
        internal const int AT_EMPTY_PATH = 0x1000;

        /// <summary><c>linkat(olddirfd, oldpath, newdirfd, newpath, flags)</c>, with paths relative to the working directory.</summary>
        internal static int Linkat(string oldpath, string newpath, int flags) => LinkatRaw(AT_FDCWD, oldpath, AT_FDCWD, newpath, flags);

        [LibraryImport(Name, EntryPoint = "linkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static partial int LinkatRaw(int olddirfd, string oldpath, int newdirfd, string newpath, int flags);
    }
}
