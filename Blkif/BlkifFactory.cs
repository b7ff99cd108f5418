using Xen.DependencyInjection;
using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Blkif;

/// <summary>
/// Creates blkfronts and blkbacks over the container's backends, Xenstore and <see cref="BlkifOptions"/>:
/// what <c>services.AddBlkif&lt;TEvents, TMemory&gt;()</c> registers. Either end directly (the two
/// ends' infos travel however the program likes) or through Xenstore as a <c>vbd</c> device with
/// <see cref="BlkifXenbus"/>'s handshake. The factory owns the ends it created until they are
/// disposed: disposing it (the container does, before the backends) disposes those still open. It
/// never disposes the storage.
/// </summary>
/// <typeparam name="TEvents">The event-channel backend.</typeparam>
/// <typeparam name="TMemory">The grant-table backend.</typeparam>
public sealed class BlkifFactory<TEvents, TMemory> : IDisposable, IAsyncDisposable
    where TEvents : IEvents
    where TMemory : IMemory
{
    private readonly TEvents _events;
    private readonly TMemory _memory;
    private readonly XenstoreClient? _store;
    private readonly BlkifOptions _options;
    private readonly OwnedDrivers _owned = new(nameof(BlkifFactory<TEvents, TMemory>));

    internal BlkifFactory(TEvents events, TMemory memory, XenstoreClient? store, BlkifOptions options)
    {
        ArgumentNullException.ThrowIfNull(options.Frontend);
        ArgumentNullException.ThrowIfNull(options.Backend);
        options.Frontend.Validate();
        options.Backend.Validate();
        _events = events;
        _memory = memory;
        _store = store;
        _options = options;
    }

    /// <summary>The domain this end acts as.</summary>
    public ushort LocalDomain => _events.LocalDomain;

    /// <summary>A blkback serving <paramref name="storage"/>: give its <see cref="Blkback{TEvents, TMemory}.Info"/> to the frontend, then <see cref="Blkback{TEvents, TMemory}.Connect"/>.</summary>
    /// <exception cref="ObjectDisposedException">The factory is disposed.</exception>
    public Blkback<TEvents, TMemory> CreateBlkback(IBlockStorage storage)
    {
        _owned.ThrowIfDisposed();
        return _owned.Add(new Blkback<TEvents, TMemory>(_events, _memory, storage, _options.Backend));
    }

    /// <summary>A blkfront of the disk <paramref name="backendDomain"/> describes in <paramref name="backend"/>: give its <see cref="Blkfront{TEvents, TMemory}.FrontendInfo"/> to the backend.</summary>
    /// <exception cref="ObjectDisposedException">The factory is disposed.</exception>
    public Blkfront<TEvents, TMemory> CreateBlkfront(ushort backendDomain, BlkifBackendInfo backend)
    {
        _owned.ThrowIfDisposed();
        return _owned.Add(Blkfront<TEvents, TMemory>.Create(_events, _memory, backendDomain, backend, _options.Frontend));
    }

    /// <summary>
    /// Serves <paramref name="storage"/> as <c>vbd</c> <paramref name="deviceId"/> of <paramref name="frontendDomain"/>:
    /// publishes the backend's keys and returns once the frontend is connected
    /// (<see cref="BlkifXenbus.ConnectBackendAsync"/>). Then <see cref="ServeBackendAsync"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">No Xenstore client is registered (<c>services.AddXenstore(...)</c>).</exception>
    public async Task<Blkback<TEvents, TMemory>> ConnectBackendAsync(uint deviceId, ushort frontendDomain, IBlockStorage storage, CancellationToken cancellationToken = default)
    {
        var store = Store("A blkback device");
        var back = CreateBlkback(storage);
        try
        {
            await BlkifXenbus.ConnectBackendAsync(store, Device(deviceId, frontendDomain, LocalDomain), back, cancellationToken).ConfigureAwait(false);
            return back;
        }
        catch
        {
            await back.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Serves a connected <paramref name="backend"/> until its frontend closes or goes, then disposes it and
    /// closes the device (<see cref="BlkifXenbus.ServeBackendAsync"/>).
    /// </summary>
    /// <returns>Whether the frontend closed through Xenstore (false: it stopped without a word).</returns>
    public Task<bool> ServeBackendAsync(uint deviceId, ushort frontendDomain, Blkback<TEvents, TMemory> backend, CancellationToken cancellationToken = default) =>
        BlkifXenbus.ServeBackendAsync(Store("A blkback device"), Device(deviceId, frontendDomain, LocalDomain), backend, cancellationToken: cancellationToken);

    /// <summary>
    /// The blkfront of <c>vbd</c> <paramref name="deviceId"/> of this domain, served by <paramref name="backendDomain"/>,
    /// once both ends are connected through Xenstore (<see cref="BlkifXenbus.ConnectFrontendAsync"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">No Xenstore client is registered (<c>services.AddXenstore(...)</c>).</exception>
    public async Task<Blkfront<TEvents, TMemory>> ConnectFrontendAsync(uint deviceId, ushort backendDomain, CancellationToken cancellationToken = default)
    {
        var store = Store("A blkfront device");
        _owned.ThrowIfDisposed();
        var front = await BlkifXenbus.ConnectFrontendAsync(store, Device(deviceId, LocalDomain, backendDomain), _events, _memory, _options.Frontend, cancellationToken)
            .ConfigureAwait(false);
        return _owned.Add(front);
    }

    /// <summary>
    /// Closes <paramref name="frontend"/>'s device the standard way, waiting up to <see cref="BlkifOptions.CloseTimeout"/>
    /// for the backend, and disposes it (<see cref="BlkifXenbus.CloseFrontendAsync"/>).
    /// </summary>
    /// <returns>Whether the backend answered in time.</returns>
    public Task<bool> CloseFrontendAsync(uint deviceId, ushort backendDomain, Blkfront<TEvents, TMemory> frontend, CancellationToken cancellationToken = default) =>
        BlkifXenbus.CloseFrontendAsync(Store("A blkfront device"), Device(deviceId, LocalDomain, backendDomain), frontend, _options.CloseTimeout, cancellationToken);

    /// <summary>Disposes the blkfronts and blkbacks this factory created that are still open; it creates no more.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Disposes the blkfronts and blkbacks this factory created that are still open; it creates no more.</summary>
    public ValueTask DisposeAsync() => _owned.DisposeAllAsync();

    private XenstoreClient Store(string what) => _store ?? throw DriverServices.NoXenstore(what);

    private static XenbusDevice Device(uint deviceId, ushort frontendDomain, ushort backendDomain) =>
        new(BlkifXenbus.DeviceType, deviceId, frontendDomain, backendDomain);
}
