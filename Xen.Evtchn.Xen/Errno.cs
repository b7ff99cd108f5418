using static Xen.Evtchn.Xen.EventChannelAbi;

namespace Xen.Evtchn.Xen;

/// <summary>Names Xen's negative errno returns for error messages.</summary>
internal static class Errno
{
    public static string Name(int rc) => -rc switch
    {
        EPERM => "-EPERM",
        ESRCH => "-ESRCH",
        EFAULT => "-EFAULT",
        EINVAL => "-EINVAL",
        ENOSPC => "-ENOSPC",
        ENOSYS => "-ENOSYS",
        _ => rc.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
