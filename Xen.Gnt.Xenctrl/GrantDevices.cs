using Xen.Xenctrl.Native;

namespace Xen.Gnt.Xenctrl;

/// <summary>
/// The two open grant devices: <c>/dev/xen/gntalloc</c> to share pages, <c>/dev/xen/gntdev</c> to map a
/// peer's. Every share and mapping holds a reference on its device's handle, so the descriptors stay
/// open until the last of them is released, even after the backend is disposed.
/// </summary>
internal sealed class GrantDevices : IDisposable
{
    internal GrantDevices(SafeFd gntalloc, SafeFd gntdev, string gntallocPath, string gntdevPath, ushort localDomain)
    {
        Gntalloc = gntalloc;
        Gntdev = gntdev;
        GntallocPath = gntallocPath;
        GntdevPath = gntdevPath;
        LocalDomain = localDomain;
    }

    internal SafeFd Gntalloc { get; }

    internal SafeFd Gntdev { get; }

    internal string GntallocPath { get; }

    internal string GntdevPath { get; }

    internal ushort LocalDomain { get; }

    /// <summary>Opens both devices.</summary>
    /// <exception cref="GrantException">A device cannot be opened; the message says why and what to do.</exception>
    internal static GrantDevices Open(string gntallocPath, string gntdevPath, ushort localDomain)
    {
        var gntalloc = DeviceFile.TryOpen(gntallocPath, 0, out var error)
            ?? throw new GrantException(GrantStatus.GeneralError, error!);
        var gntdev = DeviceFile.TryOpen(gntdevPath, 0, out error);
        if (gntdev is null)
        {
            gntalloc.Dispose();
            throw new GrantException(GrantStatus.GeneralError, error!);
        }
        return new GrantDevices(gntalloc, gntdev, gntallocPath, gntdevPath, localDomain);
    }

    /// <summary>Drops the backend's own reference on both handles.</summary>
    public void Dispose()
    {
        Gntalloc.Dispose();
        Gntdev.Dispose();
    }
}
