using System.Runtime.InteropServices;

internal static partial class Interop
{
    /// <summary>The ioctls of <c>/dev/xen/evtchn</c> and their arguments, as in Linux's <c>xen/evtchn.h</c>.</summary>
    internal static class Evtchn
    {
        internal static readonly nuint IOCTL_EVTCHN_BIND_VIRQ = Libc.IOC_NONE('E', 0, (uint)sizeof(uint));
        internal static readonly nuint IOCTL_EVTCHN_BIND_INTERDOMAIN = Libc.IOC_NONE('E', 1, (uint)Marshal.SizeOf<ioctl_evtchn_bind_interdomain>());
        internal static readonly nuint IOCTL_EVTCHN_BIND_UNBOUND_PORT = Libc.IOC_NONE('E', 2, (uint)Marshal.SizeOf<ioctl_evtchn_bind_unbound_port>());
        internal static readonly nuint IOCTL_EVTCHN_UNBIND = Libc.IOC_NONE('E', 3, (uint)Marshal.SizeOf<ioctl_evtchn_unbind>());
        internal static readonly nuint IOCTL_EVTCHN_NOTIFY = Libc.IOC_NONE('E', 4, (uint)Marshal.SizeOf<ioctl_evtchn_notify>());
        internal static readonly nuint IOCTL_EVTCHN_RESET = Libc.IOC_NONE('E', 5, 0);

        /// <summary><c>struct ioctl_evtchn_bind_interdomain</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ioctl_evtchn_bind_interdomain
        {
            internal uint remote_domain;
            internal uint remote_port;
        }

        /// <summary><c>struct ioctl_evtchn_bind_unbound_port</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ioctl_evtchn_bind_unbound_port
        {
            internal uint remote_domain;
        }

        /// <summary><c>struct ioctl_evtchn_unbind</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ioctl_evtchn_unbind
        {
            internal uint port;
        }

        /// <summary><c>struct ioctl_evtchn_notify</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct ioctl_evtchn_notify
        {
            internal uint port;
        }
    }
}
