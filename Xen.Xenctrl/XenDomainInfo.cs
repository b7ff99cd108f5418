namespace Xen.Xenctrl;

/// <summary>What Xen says of a domain (<c>XEN_DOMCTL_getdomaininfo</c>): whether it is dying or shut down, and why.</summary>
/// <param name="Domain">The domain id.</param>
/// <param name="Dying">Being destroyed: it runs no more and its resources are going.</param>
/// <param name="Shutdown">Shut down (powered off, rebooting, suspended or crashed) but not destroyed yet.</param>
/// <param name="ShutdownReason">Xen's <c>SHUTDOWN_*</c> code when <paramref name="Shutdown"/>: 0 poweroff, 1 reboot, 2 suspend, 3 crash, 4 watchdog, 5 soft reset.</param>
public readonly record struct XenDomainInfo(ushort Domain, bool Dying, bool Shutdown, uint ShutdownReason)
{
    /// <summary>Xen's <c>SHUTDOWN_crash</c>.</summary>
    public bool Crashed => Shutdown && ShutdownReason == 3;
}
