using Xen.Evtchn.Xenctrl;
using Xen.Gnt.Xenctrl;

namespace Xen.Xenctrl;

/// <summary>
/// Opens the xenctrl backends for a program that composes drivers itself, e.g. a command's
/// <c>--backend xenctrl</c>: <c>new Vchan&lt;XenctrlEvents, XenctrlMemory&gt;(XenctrlBackends.OpenEvents(o), XenctrlBackends.OpenMemory(o))</c>.
/// </summary>
public static class XenctrlBackends
{
    /// <summary>Opens <c>/dev/xen/evtchn</c> as <see cref="XenctrlEvents"/>.</summary>
    /// <exception cref="Xen.Evtchn.EventChannelException">Not a Xen domain, the module not loaded, or no permission; the message says what to do.</exception>
    /// <exception cref="InvalidOperationException">This domain's id cannot be found; set <see cref="XenctrlOptions.LocalDomain"/>.</exception>
    public static XenctrlEvents OpenEvents(XenctrlOptions? options = null)
    {
        options ??= new XenctrlOptions();
        return XenctrlEvents.Open(ResolveLocalDomain(options), options.EvtchnPath);
    }

    /// <summary>Opens <c>/dev/xen/gntalloc</c> and <c>gntdev</c> as <see cref="XenctrlMemory"/>.</summary>
    /// <exception cref="Xen.Gnt.GrantException">Not a Xen domain, a module not loaded, or no permission; the message says what to do.</exception>
    /// <exception cref="InvalidOperationException">This domain's id cannot be found; set <see cref="XenctrlOptions.LocalDomain"/>.</exception>
    public static XenctrlMemory OpenMemory(XenctrlOptions? options = null)
    {
        options ??= new XenctrlOptions();
        return XenctrlMemory.Open(ResolveLocalDomain(options), options.GntallocPath, options.GntdevPath);
    }

    /// <summary>
    /// This domain's id: <see cref="XenctrlOptions.LocalDomain"/> if set, 0 in dom0, else the Xenstore key
    /// <c>domid</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">None of these answered; the message says what to set.</exception>
    public static ushort ResolveLocalDomain(XenctrlOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.LocalDomain is { } set)
            return set;
        if (IsDom0(options.CapabilitiesPath))
            return 0;
        if (XenstoreDomid.TryRead(options.XenbusPath, TimeSpan.FromSeconds(5), out var domid, out var why))
            return domid;
        throw new InvalidOperationException(
            $"Cannot tell which Xen domain this is: {options.CapabilitiesPath} does not say control_d (dom0) and reading "
            + $"'domid' from Xenstore failed ({why}). Set {nameof(XenctrlOptions)}.{nameof(XenctrlOptions.LocalDomain)} "
            + "(or pass --domain), e.g. to the output of `xenstore-read domid`.");
    }

    internal static bool IsDom0(string capabilitiesPath)
    {
        try
        {
            return File.Exists(capabilitiesPath)
                && File.ReadAllText(capabilitiesPath).Contains("control_d", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
