using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary><c>pidfd_open(pid, 0)</c> (Linux 5.3, glibc 2.36): a descriptor that polls readable once the process has exited.</summary>
        internal static SafeFd PidfdOpen(int pid) => new(PidfdOpenRaw(pid, 0));

        [LibraryImport(Name, EntryPoint = "pidfd_open", SetLastError = true)]
        private static partial int PidfdOpenRaw(int pid, uint flags);
    }
}
