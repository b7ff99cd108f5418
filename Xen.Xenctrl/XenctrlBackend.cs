using Xen.Evtchn.Xenctrl;
using Xen.Gnt.Xenctrl;

namespace Xen.Xenctrl;

/// <summary>
/// The xenctrl backends in the shape every backend package shares for build-time selection: a
/// project that references <c>Xen.Xenctrl</c> sees this class as <c>XenBackend</c>, and
/// <see cref="XenctrlEvents"/> and <see cref="XenctrlMemory"/> as <c>XenEvents</c> and <c>XenMemory</c>
/// (global using aliases from the package's <c>buildTransitive</c> targets; see <c>docs/packages.md</c>).
/// For device paths and the other options use <see cref="XenctrlBackends"/>.
/// </summary>
/// <remarks>
/// Each process opens the devices of the Xen domain it runs in; two processes of one domain may talk
/// to each other (both name that domain), or to processes of another domain.
/// </remarks>
public static class XenctrlBackend
{
    /// <summary>The value of the MSBuild property <c>XenBackend</c> that selects this backend.</summary>
    public const string Name = "Xenctrl";

    /// <summary>Whether two processes can be two ends of a connection: true.</summary>
    public static bool CrossProcess => true;

    /// <summary>Opens <c>/dev/xen/evtchn</c> for this process, which runs in Xen domain <paramref name="domain"/>.</summary>
    /// <param name="domain">The id of the domain this process runs in (<c>xenstore-read domid</c>; 0 in dom0).</param>
    /// <exception cref="Xen.Evtchn.EventChannelException">Not a Xen domain, the module not loaded, or no permission; the message says what to do.</exception>
    public static XenctrlEvents OpenEvents(ushort domain) =>
        XenctrlBackends.OpenEvents(new XenctrlOptions { LocalDomain = domain });

    /// <summary>
    /// Opens <c>/dev/xen/gntalloc</c> and <c>gntdev</c> for the domain that <paramref name="events"/> acts as.
    /// The kernel sends the unmap notifications itself, also when the process dies.
    /// </summary>
    /// <exception cref="Xen.Gnt.GrantException">Not a Xen domain, a module not loaded, or no permission; the message says what to do.</exception>
    public static XenctrlMemory OpenMemory(XenctrlEvents events) =>
        XenctrlBackends.OpenMemory(new XenctrlOptions { LocalDomain = events.LocalDomain });
}
