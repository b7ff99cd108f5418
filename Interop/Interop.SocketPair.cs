using System.Runtime.InteropServices;

internal static unsafe partial class Interop
{
    internal static partial class Libc
    {
        internal const int AF_UNIX = 1;
        internal const int SOCK_STREAM = 1;
        internal const int SOCK_SEQPACKET = 5;

        /// <summary><c>socketpair(domain, type, protocol, sv)</c>: two connected ends, inherited by child processes.</summary>
        /// <exception cref="IOException">The call failed.</exception>
        internal static (SafeFd First, SafeFd Second) SocketPair(int domain, int type, int protocol)
        {
            var fds = stackalloc int[2];
            if (SocketPairRaw(domain, type, protocol, fds) != 0)
                throw Errno.Fail("socketpair");
            return (new SafeFd(fds[0]), new SafeFd(fds[1]));
        }

        [LibraryImport(Name, EntryPoint = "socketpair", SetLastError = true)]
        private static partial int SocketPairRaw(int domain, int type, int protocol, int* sv);
    }
}
