using Microsoft.Extensions.Logging.Abstractions;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Netif;

/// <summary>
/// A netback that meets its frontend through Xenstore: it publishes what it offers, attaches when
/// the frontend has published its rings, and serves one frontend after another on the same link.
/// </summary>
/// <remarks>
/// Each connection: the offered keys and <see cref="XenbusState.InitWait"/> in one transaction; a wait
/// for the frontend's <see cref="XenbusState.Initialised"/> or <see cref="XenbusState.Connected"/> (Linux's
/// netfront skips Initialised); <see cref="Netback{TEvents, TMemory}.Attach"/>
/// with the keys read back; <see cref="XenbusState.Connected"/>. The connection ends when the
/// frontend's channels close or its rings' live bytes are cleared (it died or reconnects), when the
/// frontend leaves <see cref="XenbusState.Initialised"/>/<see cref="XenbusState.Connected"/>, or on a
/// protocol fault; a frontend that moves to <see cref="XenbusState.Closing"/> gets the standard close.
/// Then the backend offers itself again. A restarted backend process starts the same way, which is
/// what tells the frontend to reconnect. A frontend whose device or domain is gone for good
/// (<see cref="Xenbus.WaitForFrontendGoneAsync"/>: <c>@releaseDomain</c>, or its directory removed)
/// ends the backend: it releases the pages, removes its directory and returns.
/// </remarks>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant-table backend.</typeparam>
public sealed class NetbackDevice<TEvents, TMemory>
    where TEvents : IEvents
    where TMemory : IMemory
{
    private readonly XenstoreClient _store;
    private readonly TEvents _events;
    private readonly TMemory _memory;
    private readonly INetworkLink _link;
    private readonly NetbackOptions _options;
    private Netback<TEvents, TMemory>? _current;
    private int _connections;

    /// <summary>Prepares the backend of <paramref name="device"/>; <paramref name="store"/> acts as the backend's domain.</summary>
    public NetbackDevice(XenstoreClient store, XenbusDevice device, TEvents events, TMemory memory, INetworkLink link, NetbackOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(link);
        _store = store;
        Device = device;
        _events = events;
        _memory = memory;
        _link = link;
        _options = options ?? new NetbackOptions();
        _options.Features.Validate();
    }

    /// <summary>The device this backend serves.</summary>
    public XenbusDevice Device { get; }

    /// <summary>How many times a frontend was attached and the backend moved to <see cref="XenbusState.Connected"/>.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>The netback of the current connection, or null between connections.</summary>
    public Netback<TEvents, TMemory>? Current => Volatile.Read(ref _current);

    /// <summary>Raised with the error when a connection could not be made or ended in a protocol fault; the backend carries on.</summary>
    public event EventHandler<Exception>? ConnectionFailed;

    /// <summary>Raised with the netback of a connection once the backend has moved to <see cref="XenbusState.Connected"/>.</summary>
    public event EventHandler<Netback<TEvents, TMemory>>? Connected;

    /// <summary>
    /// Raised with the netback of a connection as soon as its end is noticed (the frontend closed, died
    /// or went away, or the run was cancelled), before its pages are released: with many mapped grants,
    /// that takes a while. Raised once for each <see cref="Connected"/> (even one whose handler threw), and
    /// never for a connection that ended before the backend reached <see cref="XenbusState.Connected"/>.
    /// </summary>
    public event EventHandler<Netback<TEvents, TMemory>>? Disconnected;

    /// <summary>How long a close waits for the frontend to follow before it moves to Closed anyway.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Serves frontends until <paramref name="cancellationToken"/> is cancelled, then closes the device
    /// the standard way; or until the frontend's device or domain is gone for good (its directory
    /// removed, or its domain destroyed: <see cref="Xenbus.WaitForFrontendGoneAsync"/>), then returns
    /// once every page is released, with the backend's directory removed.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        var fe = Device.FrontendPath;
        var be = Device.BackendPath;
        try
        {
            while (true)
            {
                // A frontend that closed stays away until it starts again (Initialising).
                await Xenbus.WaitForStateAsync(_store, fe, s => s is not (XenbusState.Closing or XenbusState.Closed), cancellationToken).ConfigureAwait(false);
                await Xenbus.BackendInitWaitAsync(_store, Device, NetifXenstore.BackendKeys(_options.Features), cancellationToken).ConfigureAwait(false);
                // Linux's netfront publishes its rings and moves straight from Initialising to Connected;
                // Linux's netback connects on either state, and so does this one.
                var state = await Xenbus.WaitForStateAsync(_store, fe, s => s is XenbusState.Initialised or XenbusState.Connected or XenbusState.Closing or XenbusState.Closed, cancellationToken).ConfigureAwait(false);
                if (state is not (XenbusState.Initialised or XenbusState.Connected))
                {
                    await CloseAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
                Netback<TEvents, TMemory> netback;
                try
                {
                    var rendezvous = await NetifXenstore.ReadFrontendAsync(_store, fe, Device.FrontendDomain, cancellationToken).ConfigureAwait(false);
                    netback = Netback<TEvents, TMemory>.Attach(_events, _memory, rendezvous, _link, _options);
                }
                catch (Exception e) when (e is NetifProtocolException or ArgumentException or GrantException or EventChannelException)
                {
                    // Stale or bad keys: close, which a live frontend follows and then publishes anew.
                    // A dead one stays where it was: wait for it to move rather than retry the same keys.
                    Log.NetbackFrontendRefused(_options.Logger ?? NullLogger.Instance, _options.Name, fe, e.Message);
                    ConnectionFailed?.Invoke(this, e);
                    await CloseAsync(cancellationToken).ConfigureAwait(false);
                    await Xenbus.WaitForStateAsync(_store, fe, s => s is not (XenbusState.Initialised or XenbusState.Connected), cancellationToken).ConfigureAwait(false);
                    continue;
                }
                Volatile.Write(ref _current, netback);
                bool frontendGone;
                // Disconnected pairs with Connected: a connection that failed or was cancelled before
                // the backend reached Connected (the state's write threw) was never announced.
                var announced = false;
                try
                {
                    await Xenbus.SetStateAsync(_store, be, XenbusState.Connected, cancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref _connections);
                    announced = true;
                    Connected?.Invoke(this, netback);
                    (state, frontendGone) = await WaitUntilGoneAsync(netback, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    Volatile.Write(ref _current, null);
                    if (announced)
                        Disconnected?.Invoke(this, netback);
                    await netback.DisposeAsync().ConfigureAwait(false);
                }
                if (netback.Completion.IsFaulted)
                    ConnectionFailed?.Invoke(this, netback.Completion.Exception.InnerException!);
                if (frontendGone)
                {
                    // The frontend's device or domain is gone: nothing is left to serve, and the
                    // pages are released. Take our directory away too, as the toolstack would.
                    await RemoveBackendAsync(cancellationToken).ConfigureAwait(false);
                    return;
                }
                if (state is XenbusState.Closing or XenbusState.Closed)
                    await CloseAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await CloseQuietlyAsync().ConfigureAwait(false);
            throw;
        }
    }

    // Waits until the frontend stops serving its rings (its channels close, or its live bytes are
    // cleared), leaves Initialised/Connected, or is gone with its device or domain; returns its state
    // then, and whether it is gone for good.
    private async Task<(XenbusState State, bool Gone)> WaitUntilGoneAsync(Netback<TEvents, TMemory> netback, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var left = Xenbus.WaitForStateAsync(_store, Device.FrontendPath, s => s is not (XenbusState.Initialised or XenbusState.Connected), stop.Token);
        var gone = Xenbus.WaitForFrontendGoneAsync(_store, Device, stop.Token);
        var done = await Task.WhenAny(left, gone, netback.Completion).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        foreach (var wait in new[] { left, gone })
        {
            try
            {
                await wait.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (done == gone)
            return (XenbusState.Unknown, true);
        var state = done == left ? left.Result : await Xenbus.ReadStateAsync(_store, Device.FrontendPath, cancellationToken).ConfigureAwait(false);
        // A frontend that died with its domain may take its directory along a moment later.
        var dirGone = state == XenbusState.Unknown && await _store.TryReadAsync(Device.FrontendPath, cancellationToken).ConfigureAwait(false) is null;
        return (state, dirGone);
    }

    private async Task RemoveBackendAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _store.RmAsync(Device.BackendPath, cancellationToken).ConfigureAwait(false);
        }
        catch (XenstoreException e) when (e.Error == XsError.ENOENT)
        {
        }
    }

    private async Task CloseAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CloseTimeout);
        try
        {
            await Xenbus.CloseAsync(_store, Device.BackendPath, Device.FrontendPath, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await Xenbus.SetStateAsync(_store, Device.BackendPath, XenbusState.Closed, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CloseQuietlyAsync()
    {
        try
        {
            await CloseAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (XenstoreException)
        {
            // The store went: nobody is left to tell.
        }
    }
}
