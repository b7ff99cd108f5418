using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const int SIGTERM = 15;

        /// <summary><c>kill(pid, sig)</c>.</summary>
        [LibraryImport(Name, EntryPoint = "kill", SetLastError = true)]
        internal static partial int Kill(int pid, int sig);
    }
}
