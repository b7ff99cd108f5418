using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Netif.Interop;

/// <summary>The libc calls a TAP link needs, with their native names and constants.</summary>
internal static unsafe partial class Libc
{
    public const int O_RDWR = 0x2;
    public const int O_CLOEXEC = 0x80000;
    public const uint TUNSETIFF = 0x400454ca;
    public const short IFF_TAP = 0x0002;
    public const short IFF_NO_PI = 0x1000;
    public const short IFF_VNET_HDR = 0x4000;
    public const short POLLIN = 0x1;
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EBADFD = 77;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary><c>struct ifreq</c> as TUNSETIFF reads it: the name, then the flags, padded to 40 bytes.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 40)]
    public struct IfReq
    {
        [FieldOffset(0)] public fixed byte Name[16];
        [FieldOffset(16)] public short Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(SafeFileHandle fd, nuint request, void* argument);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(SafeFileHandle fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "writev", SetLastError = true)]
    public static partial nint Writev(SafeFileHandle fd, IoVec* iov, int count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);
}
