namespace Xen.Xenctrl.Native;

/// <summary>
/// Opens a <c>/dev/xen</c> device and, when that fails, says what is wrong and what to do: not a Xen
/// domain, a module not loaded, or a permission refused.
/// </summary>
internal static class DeviceFile
{
    /// <summary>The kernel modules behind <c>/dev/xen/evtchn</c>, <c>gntdev</c> and <c>gntalloc</c>.</summary>
    internal const string ModprobeCommand = "modprobe xen-evtchn xen-gntdev xen-gntalloc";

    /// <summary>Where Linux says which hypervisor it runs under, if any.</summary>
    internal const string HypervisorTypePath = "/sys/hypervisor/type";

    /// <summary>Opens <paramref name="path"/> read-write, close-on-exec, plus <paramref name="extraFlags"/>.</summary>
    /// <returns>The handle, or null with <paramref name="error"/> saying why and what to do.</returns>
    internal static SafeFd? TryOpen(string path, int extraFlags, out string? error)
    {
        var handle = Interop.Libc.Open(path, Interop.Libc.O_RDWR | Interop.Libc.O_CLOEXEC | extraFlags);
        if (!handle.IsInvalid)
        {
            error = null;
            return handle;
        }
        var errno = Interop.Errno.Last;
        handle.Dispose();
        error = Explain(path, errno, ReadHypervisorType());
        return null;
    }

    /// <summary>The hypervisor Linux runs under ("xen", "kvm", ...), or null if it does not say.</summary>
    internal static string? ReadHypervisorType()
    {
        try
        {
            return File.Exists(HypervisorTypePath) ? File.ReadAllText(HypervisorTypePath).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The message for a failed <c>open</c> of <paramref name="path"/> with <paramref name="errno"/>, on a
    /// machine whose <c>/sys/hypervisor/type</c> reads <paramref name="hypervisorType"/> (null: absent).
    /// </summary>
    internal static string Explain(string path, int errno, string? hypervisorType)
    {
        var what = $"Cannot open {path}: {Interop.Errno.Describe(errno)} (errno {errno}).";
        switch (errno)
        {
            case Interop.Errno.EACCES or Interop.Errno.EPERM:
                return $"{what} Permission refused: the /dev/xen devices belong to root. Run as root (sudo), "
                     + $"or give your user read-write access to {path} (a udev rule with GROUP and MODE).";
            case Interop.Errno.ENOENT or Interop.Errno.ENODEV or Interop.Errno.ENXIO:
                if (!string.Equals(hypervisorType, "xen", StringComparison.Ordinal))
                {
                    var seen = hypervisorType is null ? $"{HypervisorTypePath} is missing" : $"{HypervisorTypePath} says '{hypervisorType}'";
                    return $"{what} This machine is not a Xen domain ({seen}): the xenctrl backend runs only inside Xen, "
                         + "in dom0 or a domU. Elsewhere use the unix backend (--backend unix).";
                }
                return $"{what} This is a Xen domain, but the device is missing: its kernel module is not loaded. "
                     + $"Load them as root with `{ModprobeCommand}`; /dev/xen must be a devtmpfs (udev) mount.";
            default:
                return $"{what} Run in dom0 or a domU, as root, with `{ModprobeCommand}` done.";
        }
    }
}
