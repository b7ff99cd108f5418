using Xen.Evtchn.Xenctrl;
using Xen.Gnt.Xenctrl;
using Xen.Store;

namespace Xen.Xenctrl;

/// <summary>
/// The real Xen domain this process runs in, with both halves opened through Linux's devices
/// (<c>/dev/xen/evtchn</c>, <c>gntalloc</c>, <c>gntdev</c>). The kernel sends the memory's unmap
/// notifications itself, also when the process dies: nothing to wire here.
/// </summary>
public sealed class XenctrlDomain : IDisposable
{
    private readonly string? _xenstore;

    private XenctrlDomain(XenctrlEvents events, XenctrlMemory memory, string? xenstore)
    {
        Events = events;
        Memory = memory;
        _xenstore = xenstore;
    }

    /// <summary>The domain id.</summary>
    public ushort Id => Events.LocalDomain;

    /// <summary>The domain's event channels.</summary>
    public XenctrlEvents Events { get; }

    /// <summary>The domain's grant tables.</summary>
    public XenctrlMemory Memory { get; }

    private readonly Lock _framesGate = new();
    private XenctrlFrames? _frames;

    /// <summary>
    /// Foreign frames through <c>/dev/xen/privcmd</c>, opened on first use (a guest that never maps
    /// another domain's frames need not have the device).
    /// </summary>
    /// <exception cref="Xen.Gnt.FrameException">The device cannot be opened.</exception>
    public XenctrlFrames Frames
    {
        get
        {
            lock (_framesGate)
                return _frames ??= XenctrlFrames.Open(Id);
        }
    }

    /// <summary>Opens the devices for this domain, finding its id first if the options do not give it.</summary>
    /// <exception cref="Xen.Evtchn.EventChannelException">Not a Xen domain, the module not loaded, or no permission; the message says what to do.</exception>
    /// <exception cref="Xen.Gnt.GrantException">As above, for the grant devices.</exception>
    /// <exception cref="InvalidOperationException">This domain's id cannot be found; set <see cref="XenctrlDomainOptions.Domain"/>.</exception>
    public static async Task<XenctrlDomain> OpenAsync(XenctrlDomainOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new XenctrlDomainOptions();
        var id = await FindIdAsync(options, cancellationToken).ConfigureAwait(false);
        var events = XenctrlEvents.Open(id, options.EvtchnPath);
        try
        {
            return new XenctrlDomain(events, XenctrlMemory.Open(id, options.GntallocPath, options.GntdevPath), options.Xenstore);
        }
        catch
        {
            events.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens this domain's Xenstore (<see cref="XenstoreClient.OpenAsync(string?, ushort?, CancellationToken, Microsoft.Extensions.Logging.ILogger?)"/>):
    /// the daemon's socket in dom0, the xenbus device in a guest; either already acts as this domain.
    /// The caller disposes the client, before the domain.
    /// </summary>
    public Task<XenstoreClient> OpenXenstoreAsync(CancellationToken cancellationToken = default) =>
        XenstoreClient.OpenAsync(_xenstore, actAs: null, cancellationToken);

    /// <summary>Closes the grant devices, then the event channels.</summary>
    public void Dispose()
    {
        lock (_framesGate)
            _frames?.Dispose();
        Memory.Dispose();
        Events.Dispose();
    }

    /// <summary>
    /// This domain's id: <see cref="XenctrlDomainOptions.Domain"/> if set, 0 in dom0, else the
    /// Xenstore key <c>domid</c>, which a guest's own connection resolves under its home.
    /// </summary>
    /// <exception cref="InvalidOperationException">None of these answered; the message says what to set.</exception>
    internal static async Task<ushort> FindIdAsync(XenctrlDomainOptions options, CancellationToken cancellationToken)
    {
        if (options.Domain is { } set)
            return set;
        if (IsDom0(options.CapabilitiesPath))
            return 0;
        string why;
        try
        {
            using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            patience.CancelAfter(TimeSpan.FromSeconds(5));
            await using var store = await XenstoreClient.OpenAsync(options.Xenstore, actAs: null, patience.Token).ConfigureAwait(false);
            var text = await store.ReadAsync("domid", patience.Token).ConfigureAwait(false);
            if (ushort.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var domid))
                return domid;
            why = $"it holds '{text}'";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            why = "no answer within 5 s (is xenstored running?)";
        }
        catch (Exception e) when (e is IOException or XenstoreException or UnauthorizedAccessException)
        {
            why = e.Message;
        }
        throw new InvalidOperationException(
            $"Cannot tell which Xen domain this is: {options.CapabilitiesPath} does not say control_d (dom0) and reading "
            + $"'domid' from Xenstore failed ({why}). Set {nameof(XenctrlDomainOptions)}.{nameof(XenctrlDomainOptions.Domain)} "
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
