namespace Xen.Store;

/// <summary>
/// Steps that simple split devices (one page, one channel: the PV framebuffer and keyboard) share
/// around the <see cref="Xenbus"/> handshake: reading a device directory's keys, serving until the
/// frontend ends, and the two ends' closes.
/// </summary>
public static class XenbusSteps
{
    /// <summary>The keys directly under <paramref name="path"/> with a value.</summary>
    public static async Task<Dictionary<string, string>> ReadKeysAsync(XenstoreOperations store, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in await store.DirectoryAsync(path, cancellationToken).ConfigureAwait(false))
        {
            if (await store.TryReadAsync(path + "/" + name, cancellationToken).ConfigureAwait(false) is { Length: > 0 } value)
                keys[name] = value;
        }
        return keys;
    }

    /// <summary>
    /// Backend: waits until the frontend moves to Closing (or later), its device or domain is gone
    /// (<see cref="Xenbus.WaitForFrontendGoneAsync"/>), or <paramref name="served"/> ends (the frontend
    /// stopped or broke the protocol).
    /// </summary>
    /// <returns>Whether the frontend closed through Xenstore.</returns>
    public static async Task<bool> ServeUntilEndAsync(XenstoreClient client, XenbusDevice device, Task served, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(served);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var closing = Xenbus.WaitForStateAsync(client, device.FrontendPath, IsClosing, stop.Token);
        var gone = Xenbus.WaitForFrontendGoneAsync(client, device, stop.Token);
        var finished = await Task.WhenAny(closing, gone, served).ConfigureAwait(false);
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
        cancellationToken.ThrowIfCancellationRequested();
        return finished == closing && closing.IsCompletedSuccessfully;
    }

    /// <summary>Backend, after it let go of the frontend's pages: Closing then Closed, or its directory removed when the frontend's is gone.</summary>
    public static async Task CloseBackendAsync(XenstoreClient client, XenbusDevice device, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        if (await client.TryReadAsync(device.FrontendPath, cancellationToken).ConfigureAwait(false) is null)
        {
            try
            {
                await client.RmAsync(device.BackendPath, cancellationToken).ConfigureAwait(false);
            }
            catch (XenstoreException e) when (e.Error == XsError.ENOENT)
            {
            }
            return;
        }
        await Xenbus.SetStateAsync(client, device.BackendPath, XenbusState.Closing, cancellationToken).ConfigureAwait(false);
        await Xenbus.SetStateAsync(client, device.BackendPath, XenbusState.Closed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Frontend, first half of a close: Closing, then waits at most <paramref name="timeout"/> for the
    /// backend to close (a dead backend does not hold the close up). The caller then frees its pages
    /// and sets Closed.
    /// </summary>
    /// <returns>Whether the backend answered in time.</returns>
    public static async Task<bool> CloseFrontendAsync(XenstoreClient client, XenbusDevice device, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        await Xenbus.SetStateAsync(client, device.FrontendPath, XenbusState.Closing, cancellationToken).ConfigureAwait(false);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(timeout);
        try
        {
            await Xenbus.WaitForStateAsync(client, device.BackendPath, IsClosing, wait.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static bool IsClosing(XenbusState state) => state is XenbusState.Closing or XenbusState.Closed or XenbusState.Unknown;
}
