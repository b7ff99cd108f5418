using Xen.DependencyInjection;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Vchan;

/// <summary>
/// Opens vchans over the container's backends, Xenstore and <see cref="VchanOptions"/>: what
/// <c>services.AddVchan&lt;TEvents, TMemory&gt;()</c> registers. A server listens (directly, or
/// publishing its rendezvous in Xenstore under a port name), a client connects. The factory owns the
/// endpoints it opened until they are disposed: disposing it (the container does, before the
/// backends) closes those still open.
/// </summary>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant backend.</typeparam>
public sealed class VchanFactory<TEvents, TMemory> : IDisposable, IAsyncDisposable
    where TEvents : IEvents
    where TMemory : IMemory
{
    private readonly TEvents _events;
    private readonly TMemory _memory;
    private readonly XenstoreClient? _store;
    private readonly VchanOptions _options;
    private readonly OwnedDrivers _owned = new(nameof(VchanFactory<TEvents, TMemory>));

    internal VchanFactory(TEvents events, TMemory memory, XenstoreClient? store, VchanOptions options)
    {
        VchanOrders.Choose(options.LeftMin, options.RightMin);   // out-of-range sizes fail here, not at the first listen
        _events = events;
        _memory = memory;
        _store = store;
        _options = options;
    }

    /// <summary>The domain this end acts as.</summary>
    public ushort LocalDomain => _events.LocalDomain;

    /// <summary>A server end for <paramref name="clientDomain"/>: publish its <see cref="VchanEndpoint.Rendezvous"/> for the client.</summary>
    /// <exception cref="ObjectDisposedException">The factory is disposed.</exception>
    public VchanEndpoint<TEvents, TMemory> Listen(ushort clientDomain)
    {
        _owned.ThrowIfDisposed();
        return Own(VchanEndpoint.Listen(_events, _memory, clientDomain, _options.LeftMin, _options.RightMin));
    }

    /// <summary>A client end of the server's vchan at <paramref name="rendezvous"/>.</summary>
    /// <exception cref="VchanProtocolException">The server's control page holds bad orders or grants.</exception>
    /// <exception cref="ObjectDisposedException">The factory is disposed.</exception>
    public VchanEndpoint<TEvents, TMemory> Connect(ushort serverDomain, VchanRendezvous rendezvous)
    {
        _owned.ThrowIfDisposed();
        return Own(VchanEndpoint.Connect(_events, _memory, serverDomain, rendezvous));
    }

    /// <summary>
    /// A server end for <paramref name="clientDomain"/>, published in Xenstore as <paramref name="port"/>
    /// (<see cref="VchanXenstore.ListenAsync{TEvents, TMemory}"/>); disposing it removes the entries.
    /// </summary>
    /// <exception cref="InvalidOperationException">No Xenstore client is registered (<c>services.AddXenstore(...)</c>).</exception>
    public async Task<VchanEndpoint<TEvents, TMemory>> ListenAsync(ushort clientDomain, string port, CancellationToken cancellationToken = default)
    {
        _owned.ThrowIfDisposed();
        var store = _store ?? throw DriverServices.NoXenstore("Listening on a vchan port");
        return Own(await VchanXenstore.ListenAsync(_events, _memory, store, clientDomain, port, _options.LeftMin, _options.RightMin, cancellationToken)
            .ConfigureAwait(false));
    }

    /// <summary>
    /// A client end of <paramref name="serverDomain"/>'s vchan named <paramref name="port"/>, waiting up to
    /// <see cref="VchanOptions.ConnectTimeout"/> for the server to publish it.
    /// </summary>
    /// <exception cref="InvalidOperationException">No Xenstore client is registered (<c>services.AddXenstore(...)</c>).</exception>
    /// <exception cref="TimeoutException">The server did not publish the vchan in time.</exception>
    public async Task<VchanEndpoint<TEvents, TMemory>> ConnectAsync(ushort serverDomain, string port, CancellationToken cancellationToken = default)
    {
        _owned.ThrowIfDisposed();
        var store = _store ?? throw DriverServices.NoXenstore("Connecting to a vchan port");
        return Own(await VchanXenstore.ConnectAsync(_events, _memory, store, serverDomain, port, _options.ConnectTimeout, cancellationToken)
            .ConfigureAwait(false));
    }

    /// <summary>Closes the endpoints this factory opened that are still open; it opens no more.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Closes the endpoints this factory opened that are still open (removing their Xenstore entries); it opens no more.</summary>
    public ValueTask DisposeAsync() => _owned.DisposeAllAsync();

    private VchanEndpoint<TEvents, TMemory> Own(VchanEndpoint<TEvents, TMemory> endpoint)
    {
        if (_options.SpinTime is { } spin)
            endpoint.SpinTime = spin;
        return _owned.Add(endpoint);
    }
}
