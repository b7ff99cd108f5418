using Xen.Evtchn;
using Xen.Gnt;
using Xen.Store;

namespace Kbdif;

/// <summary>
/// A virtual keyboard's two ends meeting through Xenstore: the backend publishes
/// <c>feature-abs-pointer</c>, <c>width</c>, <c>height</c> and goes InitWait; the frontend publishes
/// <c>page-gref</c> (and or <c>page-ref</c>), <c>event-channel</c>, <c>request-abs-pointer</c> and goes
/// Initialised; the backend maps the page and goes Connected.
/// </summary>
public static class KbdifXenbus
{
    /// <summary>The toolstack's step (dom0): both directories of a <c>vkbd</c> device.</summary>
    public static Task CreateDeviceAsync(XenstoreClient toolstack, XenbusDevice device, CancellationToken cancellationToken = default) =>
        Xenbus.CreateDeviceAsync(toolstack, device, cancellationToken);

    /// <summary>
    /// The toolstack's step with the backend's keys in the same transaction: Linux's xen-kbdfront reads
    /// <c>feature-abs-pointer</c>, <c>width</c> and <c>height</c> when it probes, the moment its
    /// directory appears, and asks for an absolute pointer only if it saw the feature then.
    /// </summary>
    public static Task CreateDeviceAsync(XenstoreClient toolstack, XenbusDevice device, KbdifBackendInfo backend, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return Xenbus.CreateDeviceAsync(toolstack, device, [], KbdifXenstoreKeys.Backend(backend), cancellationToken);
    }

    /// <summary>Frontend: waits for the backend, grants the page, publishes it, and returns once both ends are connected.</summary>
    public static async Task<Kbdfront<TEvents, TMemory>> ConnectFrontendAsync<TEvents, TMemory>(XenstoreClient client, XenbusDevice device,
        TEvents events, TMemory memory, CancellationToken cancellationToken = default)
        where TEvents : IEvents
        where TMemory : IMemory
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        Kbdfront<TEvents, TMemory>? front = null;
        try
        {
            await Xenbus.FrontendConnectAsync(client, device, async tx =>
            {
                var backend = KbdifXenstoreKeys.ParseBackend((await XenbusSteps.ReadKeysAsync(tx, device.BackendPath, cancellationToken).ConfigureAwait(false)).GetValueOrDefault);
                front ??= Kbdfront<TEvents, TMemory>.Allocate(events, memory, device.BackendDomain, backend.FeatureAbsPointer);
                foreach (var (key, value) in KbdifXenstoreKeys.Frontend(front.Info))
                    await tx.WriteAsync(device.FrontendPath + "/" + key, value, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            return front!;
        }
        catch
        {
            if (front is not null)
                await front.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Backend: publishes its keys, goes InitWait, waits for the frontend's, maps its page and goes Connected.</summary>
    public static async Task ConnectBackendAsync<TEvents, TMemory, TFrames>(XenstoreClient client, XenbusDevice device, Kbdback<TEvents, TMemory, TFrames> backend,
        CancellationToken cancellationToken = default)
        where TEvents : IEvents
        where TMemory : IMemory
        where TFrames : IForeignFrames
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(backend);
        await Xenbus.BackendInitWaitAsync(client, device, KbdifXenstoreKeys.Backend(backend.Info), cancellationToken).ConfigureAwait(false);
        await Xenbus.BackendConnectAsync(client, device, async c =>
        {
            var keys = await XenbusSteps.ReadKeysAsync(c, device.FrontendPath, cancellationToken).ConfigureAwait(false);
            backend.Connect(device.FrontendDomain, KbdifXenstoreKeys.ParseFrontend(keys.GetValueOrDefault));
        }, cancellationToken).ConfigureAwait(false);
    }
}
