using System.Runtime.InteropServices;

// Native structs keep their C names, lower case as in the headers.
#pragma warning disable CS8981

internal static unsafe partial class Interop
{
    /// <summary>The TUN/TAP device's ioctl and its argument, as in Linux's <c>if_tun.h</c> and <c>if.h</c>.</summary>
    internal static class Tun
    {
        internal const uint TUNSETIFF = 0x400454ca;
        internal const short IFF_TAP = 0x0002;
        internal const short IFF_NO_PI = 0x1000;
        internal const short IFF_VNET_HDR = 0x4000;

        /// <summary><c>struct ifreq</c>: the interface name and, for TUNSETIFF, its flags.</summary>
        [StructLayout(LayoutKind.Explicit, Size = 40)]
        internal struct ifreq
        {
            [FieldOffset(0)] public fixed byte ifr_name[16];
            [FieldOffset(16)] public short ifr_flags;
        }
    }
}
