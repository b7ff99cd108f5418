using Xen.Evtchn.Xenctrl;
using Xen.Gnt.Xenctrl;

namespace Xen.Xenctrl;

/// <summary>
/// The xenctrl backend in the shape every backend package shares for build-time selection: a
/// project that references <c>Xen.Xenctrl</c> sees this class as <c>XenBackend</c>,
/// <see cref="XenctrlDomain"/> as <c>XenDomain</c>, and <see cref="XenctrlEvents"/> and
/// <see cref="XenctrlMemory"/> as <c>XenEvents</c> and <c>XenMemory</c> (global using aliases from the
/// package's <c>buildTransitive</c> targets; see <c>docs/packages.md</c>). For device paths and the
/// other options use <see cref="XenctrlDomain.OpenAsync"/>.
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

    /// <summary>
    /// Opens the Xen domain this process runs in, <paramref name="domain"/> (null: found from Xen, 0
    /// in dom0), with Xenstore at <paramref name="xenstore"/> (null: looked up); the same call on every backend.
    /// </summary>
    /// <exception cref="Xen.Evtchn.EventChannelException">Not a Xen domain, the module not loaded, or no permission; the message says what to do.</exception>
    /// <exception cref="Xen.Gnt.GrantException">As above, for the grant devices.</exception>
    public static async ValueTask<XenctrlDomain> OpenDomainAsync(ushort? domain = null, string? xenstore = null, CancellationToken cancellationToken = default) =>
        await XenctrlDomain.OpenAsync(new XenctrlDomainOptions { Domain = domain, Xenstore = xenstore }, cancellationToken).ConfigureAwait(false);
}
