using Xen.Evtchn.Xenctrl;
using Xen.Gnt.Xenctrl;

namespace Xen.Xenctrl;

/// <summary>Where the xenctrl backends find their devices, and which domain this process runs in.</summary>
public sealed class XenctrlOptions
{
    /// <summary>
    /// This domain's id. Null (the default) finds it: 0 in dom0 (<c>/proc/xen/capabilities</c> says
    /// <c>control_d</c>), else the Xenstore key <c>domid</c> read through <see cref="XenbusPath"/>.
    /// </summary>
    public ushort? LocalDomain { get; set; }

    /// <summary>The event-channel device.</summary>
    public string EvtchnPath { get; set; } = XenctrlEvents.DefaultDevicePath;

    /// <summary>The grant-sharing device.</summary>
    public string GntallocPath { get; set; } = XenctrlMemory.DefaultGntallocPath;

    /// <summary>The grant-mapping device.</summary>
    public string GntdevPath { get; set; } = XenctrlMemory.DefaultGntdevPath;

    /// <summary>The Xenstore device, read once to learn <see cref="LocalDomain"/> when it is not set.</summary>
    public string XenbusPath { get; set; } = "/dev/xen/xenbus";

    /// <summary>Where Linux says whether this domain is dom0.</summary>
    public string CapabilitiesPath { get; set; } = "/proc/xen/capabilities";
}
