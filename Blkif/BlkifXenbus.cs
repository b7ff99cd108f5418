using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Blkif;

/// <summary>
/// Blkfront and blkback meeting through Xenstore, as Xen's split block devices do: the keys of
/// <see cref="BlkifXenstoreKeys"/> and the Xenbus states of <see cref="Xenbus"/>. The backend
/// publishes its keys and goes <see cref="XenbusState.InitWait"/>; the frontend sizes its rings
/// from them, publishes its own and goes <see cref="XenbusState.Initialised"/>; the backend maps the
/// rings and goes <see cref="XenbusState.Connected"/>; the frontend reads the disk and goes
/// <see cref="XenbusState.Connected"/>. Either end closes with <see cref="XenbusState.Closing"/> then
/// <see cref="XenbusState.Closed"/>.
/// </summary>
/// <remarks>The toolstack creates the device first (<see cref="CreateDeviceAsync"/>), type <c>vbd</c>.</remarks>
public static class BlkifXenbus
{
    /// <summary>The Xenbus device type of a virtual block device.</summary>
    public const string DeviceType = "vbd";

    /// <summary>
    /// The toolstack's step for a virtual block device (dom0): both directories, their links and
    /// states (<see cref="Xenbus.CreateDeviceAsync(XenstoreClient, XenbusDevice, CancellationToken)"/>),
    /// and in the same transaction the keys a frontend reads when it probes the device
    /// (<see cref="BlkifXenstoreKeys.ToolstackFrontend"/>) and xl's backend keys
    /// (<see cref="BlkifXenstoreKeys.ToolstackBackend"/>).
    /// </summary>
    /// <param name="toolstack">A connection with the right to write both domains' directories (dom0's).</param>
    /// <param name="device">The device; its number is the frontend's <c>virtual-device</c>.</param>
    /// <param name="readOnly">Whether the disk is read-only (<c>mode</c> <c>r</c>).</param>
    /// <param name="parameters"><c>params</c>: what the backend serves, such as an image's path; null writes none.</param>
    /// <param name="cancellationToken">Cancels the step.</param>
    public static Task CreateDeviceAsync(XenstoreClient toolstack, XenbusDevice device, bool readOnly, string? parameters = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(toolstack);
        ArgumentNullException.ThrowIfNull(device);
        return Xenbus.CreateDeviceAsync(toolstack, device, BlkifXenstoreKeys.ToolstackFrontend(device.DeviceId),
            BlkifXenstoreKeys.ToolstackBackend(readOnly, parameters), cancellationToken);
    }

    /// <summary>
    /// Frontend: waits for the backend's keys, creates the rings and event channels, publishes them,
    /// and returns the block device once both ends are <see cref="XenbusState.Connected"/>. A backend
    /// found <see cref="XenbusState.Closed"/> (an earlier connection's) is asked to start again: the
    /// frontend moves to <see cref="XenbusState.Initialising"/> and waits for it.
    /// </summary>
    /// <exception cref="XenstoreException">The backend closed instead of connecting (<see cref="XsError.EIO"/>).</exception>
    /// <exception cref="InvalidDataException">The backend published malformed or out-of-range keys.</exception>
    public static async Task<Blkfront<TEvents, TMemory>> ConnectFrontendAsync<TEvents, TMemory>(XenstoreClient client, XenbusDevice device,
        TEvents events, TMemory memory, BlkfrontOptions? options = null, CancellationToken cancellationToken = default)
        where TEvents : IEvents
        where TMemory : IMemory
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        Blkfront<TEvents, TMemory>? front = null;
        try
        {
            // A backend left Closed by an earlier connection offers itself again only when the frontend starts
            // afresh: Linux's xen-blkback keeps an online device and goes from Closed back to InitWait when the
            // frontend is Initialising (drivers/block/xen-blkback/xenbus.c, frontend_changed).
            if (await Xenbus.ReadStateAsync(client, device.BackendPath, cancellationToken).ConfigureAwait(false) == XenbusState.Closed)
            {
                await Xenbus.SetStateAsync(client, device.FrontendPath, XenbusState.Initialising, cancellationToken).ConfigureAwait(false);
                await Xenbus.WaitForStateAsync(client, device.BackendPath, s => s is >= XenbusState.InitWait and <= XenbusState.Connected, cancellationToken).ConfigureAwait(false);
            }
            await Xenbus.FrontendConnectAsync(client, device, async tx =>
            {
                // The body reruns if the transaction conflicts: the rings are made once.
                if (front is null)
                {
                    var transport = BlkifXenstoreKeys.ParseBackendTransport((await ReadKeysAsync(tx, device.BackendPath, cancellationToken).ConfigureAwait(false)).GetValueOrDefault);
                    front = Blkfront<TEvents, TMemory>.Allocate(events, memory, device.BackendDomain, transport.MaxRingPageOrder, transport.MaxQueues, options);
                }
                foreach (var (key, value) in BlkifXenstoreKeys.Frontend(front.FrontendInfo))
                    await tx.WriteAsync(device.FrontendPath + "/" + key, value, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            var backend = BlkifXenstoreKeys.ParseBackend((await ReadKeysAsync(client, device.BackendPath, cancellationToken).ConfigureAwait(false)).GetValueOrDefault);
            front!.Attach(backend);
            return front;
        }
        catch
        {
            if (front is not null)
                await front.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // How long a backend waits for the frontend to follow the close of a device a dead backend left connected.
    private static readonly TimeSpan LeftoverCloseTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Backend: publishes <paramref name="backend"/>'s keys, goes <see cref="XenbusState.InitWait"/>, waits
    /// for the frontend's rings, connects to them and goes <see cref="XenbusState.Connected"/>. A device
    /// that a dead backend left connected, whose frontend still serves its rings, is resumed instead: the
    /// backend attaches to those rings where the dead one stopped (<see cref="TryResumeAsync"/>). Any other
    /// device a dead backend left connected is closed first (<see cref="Xenbus.CloseLeftoverAsync"/>).
    /// </summary>
    /// <returns>Whether it resumed rings a dead backend left.</returns>
    /// <exception cref="XenstoreException">The frontend closed instead of connecting (<see cref="XsError.EIO"/>).</exception>
    /// <exception cref="InvalidDataException">The frontend published malformed or out-of-range keys.</exception>
    public static async Task<bool> ConnectBackendAsync<TEvents, TMemory>(XenstoreClient client, XenbusDevice device, Blkback<TEvents, TMemory> backend,
        CancellationToken cancellationToken = default)
        where TEvents : IEvents
        where TMemory : IMemory
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(backend);
        if (await TryResumeAsync(client, device, backend, cancellationToken).ConfigureAwait(false))
            return true;
        // A frontend that follows this close and starts again (ours does, from Closed; Linux's never
        // does, hence the resume above) finds the backend at InitWait.
        var closed = await Xenbus.CloseLeftoverAsync(client, device, LeftoverCloseTimeout, cancellationToken).ConfigureAwait(false);
        await Xenbus.BackendInitWaitAsync(client, device, BlkifXenstoreKeys.Backend(backend.Info), cancellationToken).ConfigureAwait(false);
        if (closed)
            await Xenbus.WaitForStateAsync(client, device.FrontendPath, s => s != XenbusState.Closed, cancellationToken).ConfigureAwait(false);
        await Xenbus.BackendConnectAsync(client, device, async c =>
        {
            var keys = await ReadKeysAsync(c, device.FrontendPath, cancellationToken).ConfigureAwait(false);
            backend.Connect(device.FrontendDomain, BlkifXenstoreKeys.ParseFrontend(keys.GetValueOrDefault));
        }, cancellationToken).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Backend: if a dead backend left the device <see cref="XenbusState.Connected"/> and the frontend is
    /// still <see cref="XenbusState.Connected"/>, attaches to the rings it published, where the dead
    /// backend stopped, and stays connected. Linux's blkfront needs this: after a close it never connects
    /// again (it starts over only from Initialising, which it enters only when the device is probed),
    /// and the requests it has in flight would never complete. The requests the dead backend took
    /// but did not answer are served again (<see cref="SharedMemoryRing.BackRing{TRequest, TResponse}.Attach(PageBuffer)"/>);
    /// every backend answers in ring order, so none is skipped. False, with nothing changed, when the
    /// device is not in that state or its rings cannot be attached (then it is closed and started again).
    /// </summary>
    private static async Task<bool> TryResumeAsync<TEvents, TMemory>(XenstoreClient client, XenbusDevice device, Blkback<TEvents, TMemory> backend,
        CancellationToken cancellationToken)
        where TEvents : IEvents
        where TMemory : IMemory
    {
        if (await Xenbus.ReadStateAsync(client, device.BackendPath, cancellationToken).ConfigureAwait(false) != XenbusState.Connected
            || await Xenbus.ReadStateAsync(client, device.FrontendPath, cancellationToken).ConfigureAwait(false) != XenbusState.Connected)
            return false;
        try
        {
            var keys = await ReadKeysAsync(client, device.FrontendPath, cancellationToken).ConfigureAwait(false);
            backend.Connect(device.FrontendDomain, BlkifXenstoreKeys.ParseFrontend(keys.GetValueOrDefault));
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // Keys, grants, channels or ring indices that do not hold (GrantException, EventChannelException
            // and RingProtocolException are IOExceptions): the close starts the device afresh.
            return false;
        }
        return true;
    }

    /// <summary>
    /// Backend, once connected: serves until the frontend moves to <see cref="XenbusState.Closing"/>
    /// (or later), stops serving its rings (it closed its channels, or its rings' live bytes were
    /// cleared: it died), or is gone with its device or domain (<see cref="Xenbus.WaitForFrontendGoneAsync"/>),
    /// then disposes <paramref name="backend"/> and closes its own end. A frontend that died leaves its
    /// state as it was: the backend then goes <see cref="XenbusState.Closed"/> without waiting for it.
    /// A frontend gone for good takes the backend's directory along: the backend removes it.
    /// </summary>
    /// <param name="client">The backend's Xenstore connection.</param>
    /// <param name="device">The device.</param>
    /// <param name="backend">The connected backend.</param>
    /// <param name="ended">Called once the connection has ended, before the frontend's pages are unmapped
    /// (with many persistent grants that takes a while): when the end was noticed.</param>
    /// <param name="cancellationToken">Stops serving.</param>
    /// <returns>Whether the frontend closed through Xenstore (false: it stopped without a word).</returns>
    public static async Task<bool> ServeBackendAsync<TEvents, TMemory>(XenstoreClient client, XenbusDevice device, Blkback<TEvents, TMemory> backend,
        Action? ended = null, CancellationToken cancellationToken = default)
        where TEvents : IEvents
        where TMemory : IMemory
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(backend);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var closing = Xenbus.WaitForStateAsync(client, device.FrontendPath, IsClosing, stop.Token);
        var gone = Xenbus.WaitForFrontendGoneAsync(client, device, stop.Token);
        var finished = await Task.WhenAny(closing, gone, backend.Completion).ConfigureAwait(false);
        ended?.Invoke();
        await stop.CancelAsync().ConfigureAwait(false);
        foreach (var wait in new[] { closing, gone })
        {
            try
            {
                await wait.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Something else ended the connection first.
            }
        }
        // Unmap the frontend's pages before telling it that it may end its grants.
        await backend.DisposeAsync().ConfigureAwait(false);
        var frontendGone = finished == gone
            || await client.TryReadAsync(device.FrontendPath, cancellationToken).ConfigureAwait(false) is null;
        if (frontendGone)
        {
            // The device or the domain is gone for good: take our directory away too, as the toolstack would.
            try
            {
                await client.RmAsync(device.BackendPath, cancellationToken).ConfigureAwait(false);
            }
            catch (XenstoreException e) when (e.Error == XsError.ENOENT)
            {
            }
            return false;
        }
        var polite = finished == closing && closing.IsCompletedSuccessfully;
        await Xenbus.SetStateAsync(client, device.BackendPath, XenbusState.Closing, cancellationToken).ConfigureAwait(false);
        await Xenbus.SetStateAsync(client, device.BackendPath, XenbusState.Closed, cancellationToken).ConfigureAwait(false);
        return polite;
    }

    /// <summary>
    /// Frontend: the standard close. Moves to <see cref="XenbusState.Closing"/>, waits (at most
    /// <paramref name="timeout"/>) for the backend to unmap and close, ends the device's grants and
    /// channels, and moves to <see cref="XenbusState.Closed"/>. A backend that does not answer in
    /// time (it died) does not hold the close up.
    /// </summary>
    /// <returns>Whether the backend answered in time.</returns>
    public static async Task<bool> CloseFrontendAsync<TEvents, TMemory>(XenstoreClient client, XenbusDevice device, Blkfront<TEvents, TMemory> frontend,
        TimeSpan timeout, CancellationToken cancellationToken = default)
        where TEvents : IEvents
        where TMemory : IMemory
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(frontend);
        await Xenbus.SetStateAsync(client, device.FrontendPath, XenbusState.Closing, cancellationToken).ConfigureAwait(false);
        bool answered;
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            wait.CancelAfter(timeout);
            try
            {
                await Xenbus.WaitForStateAsync(client, device.BackendPath, IsClosing, wait.Token).ConfigureAwait(false);
                answered = true;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                answered = false;
            }
        }
        await frontend.DisposeAsync().ConfigureAwait(false);
        await Xenbus.SetStateAsync(client, device.FrontendPath, XenbusState.Closed, cancellationToken).ConfigureAwait(false);
        return answered;
    }

    private static bool IsClosing(XenbusState state) => state is XenbusState.Closing or XenbusState.Closed or XenbusState.Unknown;

    // A device directory's keys, with one level of subdirectories (queue-<i>/...) as "dir/key".
    private static async Task<Dictionary<string, string>> ReadKeysAsync(XenstoreOperations store, string path, CancellationToken cancellationToken)
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in await store.DirectoryAsync(path, cancellationToken).ConfigureAwait(false))
        {
            if (await store.TryReadAsync(path + "/" + name, cancellationToken).ConfigureAwait(false) is { Length: > 0 } value)
                keys[name] = value;
            if (!name.StartsWith("queue-", StringComparison.Ordinal))
                continue;
            foreach (var child in await store.DirectoryAsync(path + "/" + name, cancellationToken).ConfigureAwait(false))
            {
                if (await store.TryReadAsync(path + "/" + name + "/" + child, cancellationToken).ConfigureAwait(false) is { } childValue)
                    keys[name + "/" + child] = childValue;
            }
        }
        return keys;
    }
}
