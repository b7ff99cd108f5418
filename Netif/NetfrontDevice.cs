using Microsoft.Extensions.Logging.Abstractions;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Netif;

/// <summary>
/// A netfront that finds its backend through Xenstore: the Xenbus handshake with the netif keys,
/// reconnection when the backend restarts, and the standard close.
/// </summary>
/// <remarks>
/// Each connection waits for the backend's <see cref="XenbusState.InitWait"/>, reads what it offers,
/// creates a <see cref="Netfront{TEvents, TMemory}"/>, writes its keys and
/// <see cref="XenbusState.Connected"/> in one transaction (as Linux's netfront does: there is no
/// <see cref="XenbusState.Initialised"/> step for a vif, and Linux's netback waits for Connected), waits
/// for the backend's <see cref="XenbusState.Connected"/>, and runs the caller's session on it. The session's token is cancelled when the backend leaves
/// <see cref="XenbusState.Connected"/>: <see cref="XenbusState.InitWait"/> again means a new backend
/// (the old one died or restarted), and the frontend reconnects; <see cref="XenbusState.Closing"/>
/// means the backend closes, and the frontend follows (Closing, then Closed) and waits for a backend
/// to come back. The netfront is disposed only after its session returned.
/// </remarks>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant-table backend.</typeparam>
public sealed class NetfrontDevice<TEvents, TMemory>
    where TEvents : IEvents
    where TMemory : IMemory
{
    private readonly XenstoreClient _store;
    private readonly TEvents _events;
    private readonly TMemory _memory;
    private readonly NetfrontOptions _options;
    private int _connections;

    /// <summary>Prepares the frontend of <paramref name="device"/>; <paramref name="store"/> acts as the frontend's domain.</summary>
    public NetfrontDevice(XenstoreClient store, XenbusDevice device, TEvents events, TMemory memory, NetfrontOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(memory);
        _store = store;
        Device = device;
        _events = events;
        _memory = memory;
        _options = options ?? new NetfrontOptions();
    }

    /// <summary>The device this frontend serves.</summary>
    public XenbusDevice Device { get; }

    /// <summary>How many times the handshake reached <see cref="XenbusState.Connected"/>.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>How long a close waits for the backend to follow before it moves to Closed anyway.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Connects, runs <paramref name="session"/> on each connection, and reconnects when the backend
    /// restarts, until the session returns or <paramref name="cancellationToken"/> is cancelled; then
    /// closes the device the standard way. The session's token is cancelled when the backend goes;
    /// an <see cref="EventChannelException"/> out of the session (the backend's channels closed) ends
    /// that connection the same way.
    /// </summary>
    /// <exception cref="NetifProtocolException">The backend's keys are malformed.</exception>
    public async Task RunAsync(Func<Netfront<TEvents, TMemory>, CancellationToken, Task> session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        var fe = Device.FrontendPath;
        var be = Device.BackendPath;
        var closed = false;
        try
        {
            // The toolstack creates the device (and gives it to us) before a frontend may use it.
            await Xenbus.WaitForStateAsync(_store, fe, s => s != XenbusState.Unknown, cancellationToken).ConfigureAwait(false);
            await Xenbus.SetStateAsync(_store, fe, XenbusState.Initialising, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                // A backend may close while we wait, after it failed to attach to our last keys: follow it,
                // as Linux's netfront does, or both ends would wait for each other.
                if (await Xenbus.WaitForStateAsync(_store, be, s => s is XenbusState.InitWait or XenbusState.Closing, cancellationToken).ConfigureAwait(false) == XenbusState.Closing)
                {
                    await FollowCloseAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
                NetbackFeatures offered;
                try
                {
                    offered = await NetifXenstore.ReadBackendAsync(_store, be, cancellationToken).ConfigureAwait(false);
                }
                catch (NetifProtocolException e)
                {
                    Log.NetfrontBackendRefused(_options.Logger ?? NullLogger.Instance, _options.Name, be, e.Message);
                    throw;
                }
                var mac = _options.Mac ?? await NetifXenstore.ReadMacAsync(_store, fe, cancellationToken).ConfigureAwait(false);
                using var netfront = Netfront<TEvents, TMemory>.Create(_events, _memory, Device.BackendDomain, offered, _options with { Mac = mac });
                closed = false;
                // Keys and Connected together, as Linux's netfront does (xennet_connect, then Connected): Linux's
                // netback attaches when the frontend is Connected and ignores Initialised, so a frontend that
                // waited in Initialised for the backend would wait for ever.
                await _store.TransactionAsync(async tx =>
                {
                    await NetifXenstore.WriteFrontendAsync(tx, fe, netfront.Rendezvous, cancellationToken).ConfigureAwait(false);
                    await Xenbus.SetStateAsync(tx, fe, XenbusState.Connected, cancellationToken).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
                var state = await Xenbus.WaitForStateAsync(_store, be, s => s != XenbusState.InitWait, cancellationToken).ConfigureAwait(false);
                if (state == XenbusState.Connected)
                {
                    Interlocked.Increment(ref _connections);
                    if (await RunSessionAsync(netfront, session, cancellationToken).ConfigureAwait(false))
                    {
                        // The session is done: close while the rings are still there, as the backend may still look.
                        await CloseAsync(cancellationToken).ConfigureAwait(false);
                        closed = true;
                        return;
                    }
                    state = await Xenbus.WaitForStateAsync(_store, be, s => s != XenbusState.Connected, cancellationToken).ConfigureAwait(false);
                }
                if (state is XenbusState.Closing or XenbusState.Closed)
                    await FollowCloseAsync(cancellationToken).ConfigureAwait(false);
                // InitWait: a new backend. Anything else: wait for one.
            }
        }
        finally
        {
            if (!closed)
                await CloseQuietlyAsync().ConfigureAwait(false);
        }
    }

    // Runs one session; true when it returned by itself, false when the backend went.
    private async Task<bool> RunSessionAsync(Netfront<TEvents, TMemory> netfront, Func<Netfront<TEvents, TMemory>, CancellationToken, Task> session, CancellationToken cancellationToken)
    {
        using var gone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watch = CancelWhenBackendGoesAsync(gone);
        netfront.SetLinkState(true);
        try
        {
            await session(netfront, gone.Token).ConfigureAwait(false);
            return !gone.IsCancellationRequested;
        }
        catch (OperationCanceledException) when (gone.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (EventChannelException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        finally
        {
            netfront.SetLinkState(false);
            await gone.CancelAsync().ConfigureAwait(false);
            await watch.ConfigureAwait(false);
        }
    }

    private async Task CancelWhenBackendGoesAsync(CancellationTokenSource gone)
    {
        try
        {
            await Xenbus.WaitForStateAsync(_store, Device.BackendPath, s => s != XenbusState.Connected, gone.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (XenstoreException)
        {
            // The store went: the session cannot be told of a new backend, so it ends.
        }
        await gone.CancelAsync().ConfigureAwait(false);
    }

    // The backend closes: follow, then say we are ready for the next one.
    private async Task FollowCloseAsync(CancellationToken cancellationToken)
    {
        await CloseAsync(cancellationToken).ConfigureAwait(false);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(CloseTimeout);
            try
            {
                await Xenbus.WaitForStateAsync(_store, Device.BackendPath, s => s != XenbusState.Closing, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }
        await Xenbus.SetStateAsync(_store, Device.FrontendPath, XenbusState.Initialising, cancellationToken).ConfigureAwait(false);
    }

    private async Task CloseAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CloseTimeout);
        try
        {
            await Xenbus.CloseAsync(_store, Device.FrontendPath, Device.BackendPath, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await Xenbus.SetStateAsync(_store, Device.FrontendPath, XenbusState.Closed, cancellationToken).ConfigureAwait(false);
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
