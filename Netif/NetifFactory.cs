using Xen.DependencyInjection;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Netif;

/// <summary>
/// Creates netfronts and netbacks over the container's backends, Xenstore and <see cref="NetifOptions"/>:
/// what <c>services.AddNetif&lt;TEvents, TMemory&gt;()</c> registers. Either end directly (the rendezvous
/// travels however the program likes) or as a Xenstore device that runs the Xenbus handshake. The
/// factory owns the netfronts and netbacks it created until they are disposed: disposing it (the
/// container does, before the backends) disposes those still open.
/// </summary>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant-table backend.</typeparam>
public sealed class NetifFactory<TEvents, TMemory> : IDisposable, IAsyncDisposable
    where TEvents : IEvents
    where TMemory : IMemory
{
    private readonly TEvents _events;
    private readonly TMemory _memory;
    private readonly XenstoreClient? _store;
    private readonly NetifOptions _options;
    private readonly OwnedDrivers _owned = new(nameof(NetifFactory<TEvents, TMemory>));

    internal NetifFactory(TEvents events, TMemory memory, XenstoreClient? store, NetifOptions options)
    {
        ArgumentNullException.ThrowIfNull(options.Frontend);
        ArgumentNullException.ThrowIfNull(options.Backend);
        options.Backend.Features.Validate();
        _events = events;
        _memory = memory;
        _store = store;
        _options = options;
    }

    /// <summary>The domain this end acts as.</summary>
    public ushort LocalDomain => _events.LocalDomain;

    /// <summary>What this factory's netbacks offer (<see cref="NetifOptions.Backend"/>): pass it to the frontend.</summary>
    public NetbackFeatures Offered => _options.Backend.Features;

    /// <summary>A netfront for <paramref name="backendDomain"/>, which offers <paramref name="backend"/>; publish its rendezvous.</summary>
    /// <exception cref="ObjectDisposedException">The factory is disposed.</exception>
    public Netfront<TEvents, TMemory> CreateNetfront(ushort backendDomain, NetbackFeatures backend)
    {
        _owned.ThrowIfDisposed();
        return _owned.Add(Netfront<TEvents, TMemory>.Create(_events, _memory, backendDomain, backend, _options.Frontend));
    }

    /// <summary>A netback attached to the netfront at <paramref name="rendezvous"/>, passing its frames to and from <paramref name="link"/>.</summary>
    /// <exception cref="ObjectDisposedException">The factory is disposed.</exception>
    public Netback<TEvents, TMemory> AttachNetback(NetfrontRendezvous rendezvous, INetworkLink link)
    {
        _owned.ThrowIfDisposed();
        return _owned.Add(Netback<TEvents, TMemory>.Attach(_events, _memory, rendezvous, link, _options.Backend));
    }

    /// <summary>The frontend of <c>vif</c> <paramref name="deviceId"/> of this domain, served by <paramref name="backendDomain"/>, meeting it through Xenstore; run it with <see cref="NetfrontDevice{TEvents, TMemory}.RunAsync"/>.</summary>
    /// <exception cref="InvalidOperationException">No Xenstore client is registered (<c>services.AddXenstore(...)</c>).</exception>
    public NetfrontDevice<TEvents, TMemory> CreateNetfrontDevice(uint deviceId, ushort backendDomain)
    {
        _owned.ThrowIfDisposed();
        var store = _store ?? throw DriverServices.NoXenstore("A netfront device");
        return new NetfrontDevice<TEvents, TMemory>(store, new XenbusDevice(NetifXenstore.DeviceType, deviceId, LocalDomain, backendDomain),
            _events, _memory, _options.Frontend);
    }

    /// <summary>The backend of <c>vif</c> <paramref name="deviceId"/> of <paramref name="frontendDomain"/>, served from this domain onto <paramref name="link"/>; run it with <see cref="NetbackDevice{TEvents, TMemory}.RunAsync"/>.</summary>
    /// <exception cref="InvalidOperationException">No Xenstore client is registered (<c>services.AddXenstore(...)</c>).</exception>
    public NetbackDevice<TEvents, TMemory> CreateNetbackDevice(uint deviceId, ushort frontendDomain, INetworkLink link)
    {
        _owned.ThrowIfDisposed();
        var store = _store ?? throw DriverServices.NoXenstore("A netback device");
        return new NetbackDevice<TEvents, TMemory>(store, new XenbusDevice(NetifXenstore.DeviceType, deviceId, frontendDomain, LocalDomain),
            _events, _memory, link, _options.Backend);
    }

    /// <summary>Disposes the netfronts and netbacks this factory created that are still open; it creates no more.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Disposes the netfronts and netbacks this factory created that are still open; it creates no more.</summary>
    public ValueTask DisposeAsync() => _owned.DisposeAllAsync();
}
