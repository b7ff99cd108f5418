using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Fbif;

/// <summary>
/// A framebuffer's two ends meeting through Xenstore, as Linux's xen-fbfront and QEMU's backend do:
/// the backend publishes <c>videoram</c>, <c>feature-resize</c>, <c>request-update</c> (and a preferred
/// mode) and goes <see cref="XenbusState.InitWait"/>; the frontend publishes <c>page-ref</c>,
/// <c>event-channel</c>, <c>protocol</c>, <c>feature-update</c> and goes <see cref="XenbusState.Initialised"/>
/// (Linux's does so at probe, before the backend's InitWait, and goes Connected as soon as it sees
/// InitWait); the backend maps the pages and goes <see cref="XenbusState.Connected"/>.
/// </summary>
public static class FbifXenbus
{
    /// <summary>The toolstack's step (dom0): both directories of a <c>vfb</c> device, as xl creates them.</summary>
    public static Task CreateDeviceAsync(XenstoreClient toolstack, XenbusDevice device, CancellationToken cancellationToken = default) =>
        CreateDeviceAsync(toolstack, device, null, cancellationToken);

    /// <summary>
    /// The toolstack's step with the backend's keys in the same transaction: Linux's xen-fbfront reads
    /// <c>videoram</c>, <c>width</c> and <c>height</c> when it probes, the moment its directory appears,
    /// before a backend started after the toolstack could write them.
    /// </summary>
    public static Task CreateDeviceAsync(XenstoreClient toolstack, XenbusDevice device, FbifBackendInfo? backend, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(toolstack);
        ArgumentNullException.ThrowIfNull(device);
        return Xenbus.CreateDeviceAsync(toolstack, device, [], backend is null ? [] : FbifXenstoreKeys.Backend(backend), cancellationToken);
    }

    /// <summary>Frontend: waits for the backend's keys, allocates the framebuffer, publishes it, and returns once both ends are connected.</summary>
    /// <exception cref="XenstoreException">The backend closed instead of connecting.</exception>
    /// <exception cref="InvalidDataException">The backend published malformed keys.</exception>
    public static async Task<Fbfront<TEvents, TFrames>> ConnectFrontendAsync<TEvents, TFrames>(XenstoreClient client, XenbusDevice device,
        TEvents events, TFrames frames, FbfrontOptions? options = null, CancellationToken cancellationToken = default)
        where TEvents : IEvents
        where TFrames : IForeignFrames
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        Fbfront<TEvents, TFrames>? front = null;
        try
        {
            await Xenbus.FrontendConnectAsync(client, device, async tx =>
            {
                // The body reruns if the transaction conflicts: the framebuffer is made once.
                front ??= Fbfront<TEvents, TFrames>.Allocate(events, frames, device.BackendDomain,
                    FbifXenstoreKeys.ParseBackend((await XenbusSteps.ReadKeysAsync(tx, device.BackendPath, cancellationToken).ConfigureAwait(false)).GetValueOrDefault), options);
                foreach (var (key, value) in FbifXenstoreKeys.Frontend(front.Info))
                    await tx.WriteAsync(device.FrontendPath + "/" + key, value, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            // As Linux does, request-update and feature-resize count once the backend is connected.
            front!.Attach(FbifXenstoreKeys.ParseBackend((await XenbusSteps.ReadKeysAsync(client, device.BackendPath, cancellationToken).ConfigureAwait(false)).GetValueOrDefault));
            return front;
        }
        catch
        {
            if (front is not null)
                await front.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Backend: publishes its keys, goes InitWait, waits for the frontend's, maps its framebuffer and goes Connected.</summary>
    /// <exception cref="XenstoreException">The frontend closed instead of connecting.</exception>
    /// <exception cref="InvalidDataException">The frontend published or wrote values out of range.</exception>
    /// <exception cref="FrameException">The frontend named pages that are not its memory.</exception>
    public static async Task ConnectBackendAsync<TEvents, TFrames>(XenstoreClient client, XenbusDevice device, Fbback<TEvents, TFrames> backend,
        CancellationToken cancellationToken = default)
        where TEvents : IEvents
        where TFrames : IForeignFrames
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(backend);
        await Xenbus.BackendInitWaitAsync(client, device, FbifXenstoreKeys.Backend(backend.Info), cancellationToken).ConfigureAwait(false);
        await Xenbus.BackendConnectAsync(client, device, async c =>
        {
            var keys = await XenbusSteps.ReadKeysAsync(c, device.FrontendPath, cancellationToken).ConfigureAwait(false);
            backend.Connect(device.FrontendDomain, FbifXenstoreKeys.ParseFrontend(keys.GetValueOrDefault));
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Backend, once connected: serves until the frontend closes, is gone, or breaks the protocol, then
    /// disposes <paramref name="backend"/> and goes Closing, Closed.
    /// </summary>
    /// <returns>Whether the frontend closed through Xenstore.</returns>
    public static async Task<bool> ServeBackendAsync<TEvents, TFrames>(XenstoreClient client, XenbusDevice device, Fbback<TEvents, TFrames> backend,
        CancellationToken cancellationToken = default)
        where TEvents : IEvents
        where TFrames : IForeignFrames
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(backend);
        var polite = await XenbusSteps.ServeUntilEndAsync(client, device, backend.Completion, cancellationToken).ConfigureAwait(false);
        await backend.DisposeAsync().ConfigureAwait(false);
        await XenbusSteps.CloseBackendAsync(client, device, cancellationToken).ConfigureAwait(false);
        return polite;
    }

    /// <summary>Frontend: Closing, waits at most <paramref name="timeout"/> for the backend to let go, frees the framebuffer, Closed.</summary>
    /// <returns>Whether the backend answered in time.</returns>
    public static async Task<bool> CloseFrontendAsync<TEvents, TFrames>(XenstoreClient client, XenbusDevice device, Fbfront<TEvents, TFrames> frontend,
        TimeSpan timeout, CancellationToken cancellationToken = default)
        where TEvents : IEvents
        where TFrames : IForeignFrames
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(frontend);
        var answered = await XenbusSteps.CloseFrontendAsync(client, device, timeout, cancellationToken).ConfigureAwait(false);
        await frontend.DisposeAsync().ConfigureAwait(false);
        await Xenbus.SetStateAsync(client, device.FrontendPath, XenbusState.Closed, cancellationToken).ConfigureAwait(false);
        return answered;
    }
}
