using Xen.Evtchn.Xenctrl;
using Xen.Gnt.Xenctrl;

namespace Xen.Xenctrl;

/// <summary>What <see cref="XenctrlDomain.OpenAsync"/> opens: the Xen domain this process runs in, its devices, and its Xenstore.</summary>
public sealed class XenctrlDomainOptions
{
    /// <summary>
    /// This domain's id. Null (the default) finds it: 0 in dom0 (<see cref="CapabilitiesPath"/> says
    /// <c>control_d</c>), else the Xenstore key <c>domid</c> read through <see cref="Xenstore"/>.
    /// </summary>
    public ushort? Domain { get; set; }

    /// <summary>Where Xenstore is (see <see cref="Xen.Store.XenstoreClient.OpenAsync(string?, ushort?, CancellationToken, Microsoft.Extensions.Logging.ILogger?)"/>):
    /// null looks for the daemon's socket, and in a guest without it opens <c>/dev/xen/xenbus</c>.</summary>
    public string? Xenstore { get; set; }

    /// <summary>The event-channel device.</summary>
    public string EvtchnPath { get; set; } = XenctrlEvents.DefaultDevicePath;

    /// <summary>The grant-sharing device.</summary>
    public string GntallocPath { get; set; } = XenctrlMemory.DefaultGntallocPath;

    /// <summary>The grant-mapping device.</summary>
    public string GntdevPath { get; set; } = XenctrlMemory.DefaultGntdevPath;

    /// <summary>Where Linux says whether this domain is dom0.</summary>
    public string CapabilitiesPath { get; set; } = "/proc/xen/capabilities";
}
