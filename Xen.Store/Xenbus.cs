using System.Globalization;

namespace Xen.Store;

/// <summary>The Xenbus device states written in each end's <c>state</c> node.</summary>
public enum XenbusState
{
    /// <summary>No state (the node is missing or unreadable).</summary>
    Unknown = 0,
    /// <summary>The end is starting.</summary>
    Initialising = 1,
    /// <summary>The backend has published its features and waits for the frontend.</summary>
    InitWait = 2,
    /// <summary>The frontend has published its rings and event channels.</summary>
    Initialised = 3,
    /// <summary>The end is connected.</summary>
    Connected = 4,
    /// <summary>The end is shutting down.</summary>
    Closing = 5,
    /// <summary>The end has shut down.</summary>
    Closed = 6,
    /// <summary>The end is reconfiguring.</summary>
    Reconfiguring = 7,
    /// <summary>The end has reconfigured.</summary>
    Reconfigured = 8,
}

/// <summary>
/// One split device: its type (<c>vif</c>, <c>vbd</c>, ...), its number, and the two domains.
/// The frontend lives at <c>/local/domain/&lt;fe&gt;/device/&lt;type&gt;/&lt;n&gt;</c>, the backend at
/// <c>/local/domain/&lt;be&gt;/backend/&lt;type&gt;/&lt;fe&gt;/&lt;n&gt;</c>.
/// </summary>
/// <param name="Type">The device type.</param>
/// <param name="DeviceId">The device number.</param>
/// <param name="FrontendDomain">The domain running the frontend.</param>
/// <param name="BackendDomain">The domain running the backend.</param>
public sealed record XenbusDevice(string Type, uint DeviceId, ushort FrontendDomain, ushort BackendDomain)
{
    /// <summary>The frontend's directory.</summary>
    public string FrontendPath => string.Create(CultureInfo.InvariantCulture, $"{XsWire.DomainPath(FrontendDomain)}/device/{Type}/{DeviceId}");

    /// <summary>The backend's directory.</summary>
    public string BackendPath => string.Create(CultureInfo.InvariantCulture, $"{XsWire.DomainPath(BackendDomain)}/backend/{Type}/{FrontendDomain}/{DeviceId}");
}

/// <summary>
/// The Xenbus handshake over Xenstore: states, waits, and the standard sequences. A start goes
/// backend <see cref="XenbusState.InitWait"/> (features published), frontend
/// <see cref="XenbusState.Initialised"/> (rings published), backend
/// <see cref="XenbusState.Connected"/>, frontend <see cref="XenbusState.Connected"/>; a close goes
/// <see cref="XenbusState.Closing"/> then <see cref="XenbusState.Closed"/> on each end.
/// </summary>
public static class Xenbus
{
    /// <summary>
    /// The toolstack's step (dom0): creates both directories, each owned by its end's domain and
    /// readable by the other, with the <c>backend</c>/<c>backend-id</c> and
    /// <c>frontend</c>/<c>frontend-id</c> links and both states <see cref="XenbusState.Initialising"/>.
    /// </summary>
    public static Task CreateDeviceAsync(XenstoreClient toolstack, XenbusDevice device, CancellationToken cancellationToken = default) =>
        CreateDeviceAsync(toolstack, device, [], [], cancellationToken);

    /// <summary>
    /// The toolstack's step with the device type's own keys: as
    /// <see cref="CreateDeviceAsync(XenstoreClient, XenbusDevice, CancellationToken)"/>, and writes
    /// <paramref name="frontendKeys"/> and <paramref name="backendKeys"/> (names relative to each
    /// directory) in the same transaction, with the same permissions. A frontend driver probes the
    /// device as soon as its directory appears, so what it reads then must already be there: Linux's
    /// blkfront fails its probe without <c>virtual-device</c>.
    /// </summary>
    public static Task CreateDeviceAsync(XenstoreClient toolstack, XenbusDevice device, IEnumerable<KeyValuePair<string, string>> frontendKeys,
        IEnumerable<KeyValuePair<string, string>> backendKeys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(toolstack);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(frontendKeys);
        ArgumentNullException.ThrowIfNull(backendKeys);
        var fe = device.FrontendPath;
        var be = device.BackendPath;
        var feKeys = new List<KeyValuePair<string, string>>
        {
            new("backend", be),
            new("backend-id", Id(device.BackendDomain)),
            new("state", Id((uint)XenbusState.Initialising)),
        };
        feKeys.AddRange(frontendKeys);
        var beKeys = new List<KeyValuePair<string, string>>
        {
            new("frontend", fe),
            new("frontend-id", Id(device.FrontendDomain)),
            new("state", Id((uint)XenbusState.Initialising)),
        };
        beKeys.AddRange(backendKeys);
        var fePerms = XsPermissions.Create(device.FrontendDomain, XsAccess.None, new XsPermission(device.BackendDomain, XsAccess.Read));
        var bePerms = XsPermissions.Create(device.BackendDomain, XsAccess.None, new XsPermission(device.FrontendDomain, XsAccess.Read));
        return toolstack.TransactionAsync(async tx =>
        {
            foreach (var (path, keys, perms) in new[] { (fe, feKeys, fePerms), (be, beKeys, bePerms) })
            {
                foreach (var (key, value) in keys)
                    await tx.WriteAsync(path + "/" + key, value, cancellationToken).ConfigureAwait(false);
                await tx.SetPermissionsAsync(path, perms, cancellationToken).ConfigureAwait(false);
                foreach (var (key, _) in keys)
                    await tx.SetPermissionsAsync(path + "/" + key, perms, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken);
    }

    /// <summary>Reads the state in <paramref name="devicePath"/><c>/state</c>; missing or malformed is <see cref="XenbusState.Unknown"/>.</summary>
    public static async Task<XenbusState> ReadStateAsync(XenstoreOperations store, string devicePath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        string? text;
        try
        {
            text = await store.TryReadAsync(devicePath + "/state", cancellationToken).ConfigureAwait(false);
        }
        catch (XenstoreException e) when (e.Error == XsError.EACCES)
        {
            return XenbusState.Unknown;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 0 and <= 8 ? (XenbusState)n : XenbusState.Unknown;
    }

    /// <summary>Writes <paramref name="state"/> to <paramref name="devicePath"/><c>/state</c>.</summary>
    public static Task SetStateAsync(XenstoreOperations store, string devicePath, XenbusState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.WriteAsync(devicePath + "/state", Id((uint)state), cancellationToken);
    }

    /// <summary>Waits until the state at <paramref name="devicePath"/> satisfies <paramref name="condition"/> and returns it.</summary>
    public static async Task<XenbusState> WaitForStateAsync(XenstoreClient client, string devicePath, Func<XenbusState, bool> condition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(condition);
        var state = XenbusState.Unknown;
        await client.WaitUntilAsync(devicePath + "/state", async c =>
        {
            state = await ReadStateAsync(c, devicePath, cancellationToken).ConfigureAwait(false);
            return condition(state);
        }, cancellationToken).ConfigureAwait(false);
        return state;
    }

    /// <summary>
    /// Backend, before its first step: closes the device the standard way if a backend before this one
    /// left it <see cref="XenbusState.Initialised"/> or <see cref="XenbusState.Connected"/> (it died
    /// without closing), so that the frontend lets go of the old rings and starts again. Linux's
    /// blkfront reconnects from <see cref="XenbusState.Closed"/> once the backend goes
    /// <see cref="XenbusState.InitWait"/>; it ignores InitWait while it is still Connected. Waits at most
    /// <paramref name="timeout"/> for the frontend to follow. Returns whether there was anything to close.
    /// </summary>
    public static async Task<bool> CloseLeftoverAsync(XenstoreClient backend, XenbusDevice device, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(device);
        if (await ReadStateAsync(backend, device.BackendPath, cancellationToken).ConfigureAwait(false) is not (XenbusState.Initialised or XenbusState.Connected))
            return false;
        await SetStateAsync(backend, device.BackendPath, XenbusState.Closing, cancellationToken).ConfigureAwait(false);
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            wait.CancelAfter(timeout);
            try
            {
                await WaitForStateAsync(backend, device.FrontendPath, s => s is XenbusState.Closing or XenbusState.Closed or XenbusState.Unknown, wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A frontend that does not follow is closed all the same.
            }
        }
        await SetStateAsync(backend, device.BackendPath, XenbusState.Closed, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Backend, first step: publishes <paramref name="features"/> (key, value) under its directory and moves to <see cref="XenbusState.InitWait"/>, in one transaction.</summary>
    public static Task BackendInitWaitAsync(XenstoreClient backend, XenbusDevice device, IEnumerable<KeyValuePair<string, string>> features, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(device);
        var list = features.ToList();
        return backend.TransactionAsync(async tx =>
        {
            foreach (var (key, value) in list)
                await tx.WriteAsync(device.BackendPath + "/" + key, value, cancellationToken).ConfigureAwait(false);
            await SetStateAsync(tx, device.BackendPath, XenbusState.InitWait, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>
    /// Frontend: waits for the backend's features (<see cref="XenbusState.InitWait"/> or later), runs
    /// <paramref name="publish"/> (which writes ring refs and event channels) and moves to
    /// <see cref="XenbusState.Initialised"/> in one transaction, waits for the backend to connect, then
    /// moves to <see cref="XenbusState.Connected"/>.
    /// </summary>
    /// <exception cref="XenstoreException">The backend closed instead (<see cref="XsError.EIO"/>).</exception>
    public static async Task FrontendConnectAsync(XenstoreClient frontend, XenbusDevice device, Func<XenstoreTransaction, Task> publish, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(frontend);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(publish);
        await WaitForPeerAsync(frontend, device.BackendPath, XenbusState.InitWait, cancellationToken).ConfigureAwait(false);
        await frontend.TransactionAsync(async tx =>
        {
            await publish(tx).ConfigureAwait(false);
            await SetStateAsync(tx, device.FrontendPath, XenbusState.Initialised, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        await WaitForPeerAsync(frontend, device.BackendPath, XenbusState.Connected, cancellationToken).ConfigureAwait(false);
        await SetStateAsync(frontend, device.FrontendPath, XenbusState.Connected, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Backend: waits for the frontend to publish (<see cref="XenbusState.Initialised"/> or
    /// <see cref="XenbusState.Connected"/>), runs <paramref name="attach"/> (which reads its keys and
    /// maps its rings), then moves to <see cref="XenbusState.Connected"/>.
    /// </summary>
    /// <exception cref="XenstoreException">The frontend closed instead (<see cref="XsError.EIO"/>).</exception>
    public static async Task BackendConnectAsync(XenstoreClient backend, XenbusDevice device, Func<XenstoreClient, Task> attach, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(attach);
        await WaitForPeerAsync(backend, device.FrontendPath, XenbusState.Initialised, cancellationToken).ConfigureAwait(false);
        await attach(backend).ConfigureAwait(false);
        await SetStateAsync(backend, device.BackendPath, XenbusState.Connected, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Either end: moves to <see cref="XenbusState.Closing"/>, waits until the peer is closing, closed
    /// or gone, then moves to <see cref="XenbusState.Closed"/>.
    /// </summary>
    public static async Task CloseAsync(XenstoreClient client, string ownPath, string peerPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        await SetStateAsync(client, ownPath, XenbusState.Closing, cancellationToken).ConfigureAwait(false);
        await WaitForStateAsync(client, peerPath, s => s is XenbusState.Closing or XenbusState.Closed or XenbusState.Unknown, cancellationToken).ConfigureAwait(false);
        await SetStateAsync(client, ownPath, XenbusState.Closed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Backend: completes once the frontend of <paramref name="device"/> is gone for good: its
    /// directory was removed (the toolstack took the device away, or destroyed the domain and its
    /// home), or <c>@releaseDomain</c> fired and the daemon no longer knows the frontend's domain
    /// (Xen's xenstored says so as soon as the domain is dying). Only for a device whose frontend
    /// directory exists when the wait starts.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="XenstoreException">The connection to the daemon closed.</exception>
    public static async Task WaitForFrontendGoneAsync(XenstoreClient backend, XenbusDevice device, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(device);
        // Only a domain the daemon knows now can be seen to go; the Unix backends' processes, for
        // one, are never introduced, and their devices go only by their directories.
        var introduced = device.FrontendDomain != 0 && await IsIntroducedAsync(backend, device.FrontendDomain, cancellationToken).ConfigureAwait(false);
        async Task<bool> Gone(XenstoreClient c) =>
            await c.TryReadAsync(device.FrontendPath, cancellationToken).ConfigureAwait(false) is null
            || (introduced && !await IsIntroducedAsync(c, device.FrontendDomain, cancellationToken).ConfigureAwait(false));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var removed = backend.WaitUntilAsync(device.FrontendPath, Gone, stop.Token);
        var released = introduced ? WaitForReleaseAsync(backend, Gone, stop.Token) : Task.Delay(Timeout.Infinite, stop.Token);
        var first = await Task.WhenAny(removed, released).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(removed, released).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
        cancellationToken.ThrowIfCancellationRequested();
        await first.ConfigureAwait(false);
    }

    private static async Task WaitForReleaseAsync(XenstoreClient client, Func<XenstoreClient, Task<bool>> gone, CancellationToken cancellationToken)
    {
        try
        {
            await client.WaitUntilAsync(XsWire.ReleaseDomain, gone, cancellationToken).ConfigureAwait(false);
        }
        catch (XenstoreException e) when (e.Error is XsError.EACCES or XsError.EPERM or XsError.ENOSYS)
        {
            // A daemon that does not let us watch it: the directory's removal still tells.
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<bool> IsIntroducedAsync(XenstoreClient client, ushort domain, CancellationToken cancellationToken)
    {
        try
        {
            return await client.IsDomainIntroducedAsync(domain, cancellationToken).ConfigureAwait(false);
        }
        catch (XenstoreException e) when (e.Error is XsError.EACCES or XsError.EPERM or XsError.ENOSYS or XsError.EINVAL)
        {
            // Not ours to ask: treat the domain as one we cannot see go.
            return false;
        }
    }

    private static async Task WaitForPeerAsync(XenstoreClient client, string peerPath, XenbusState atLeast, CancellationToken cancellationToken)
    {
        var state = await WaitForStateAsync(client, peerPath, s => (s >= atLeast && s <= XenbusState.Connected) || s is XenbusState.Closing or XenbusState.Closed, cancellationToken).ConfigureAwait(false);
        if (state is XenbusState.Closing or XenbusState.Closed)
            throw new XenstoreException(XsError.EIO, $"The peer at {peerPath} is {state}.");
    }

    private static string Id(uint value) => value.ToString(CultureInfo.InvariantCulture);
}
